from django.apps import AppConfig


class TransparencyConfig(AppConfig):
    """Public transparency data: suppressed counts per region, as pages and open data files (no models)."""

    name = "dtsen.transparency"
    label = "transparency"
    default_auto_field = "django.db.models.BigAutoField"
