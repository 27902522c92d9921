from django.apps import AppConfig


class DciConfig(AppConfig):
    """The DCI Social Registry API (issue 8): signed search requests from registered partner systems."""

    name = "dtsen.dci"
    label = "dci"
    default_auto_field = "django.db.models.BigAutoField"
