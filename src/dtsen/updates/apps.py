from django.apps import AppConfig


class UpdatesConfig(AppConfig):
    """Keeping the data true: the formal update channel, the participation channel and verification visits."""

    name = "dtsen.updates"
    label = "updates"
    default_auto_field = "django.db.models.BigAutoField"
