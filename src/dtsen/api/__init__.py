"""The JSON API for system clients (/api/v1/, django-ninja): token authentication, endpoints that go through the
apps' selectors and services with the token's user as the actor. Its one model (models.py) keeps the first
response of each write for its idempotency key."""
