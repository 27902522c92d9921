"""The JSON API for system clients (/api/v1/, django-ninja): token authentication, read endpoints that go
through the registry selectors with the token's user as the actor. Not a Django app: no models of its own."""
