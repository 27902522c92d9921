from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The JSON API for system clients; its one model keeps the responses of writes for idempotency keys."""

    name = "dtsen.api"
    label = "api"
    default_auto_field = "django.db.models.BigAutoField"
