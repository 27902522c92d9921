from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    """Bulk data exchange (issue 8): Parquet/CSV exports with a manifest, reference data imports from agencies."""

    name = "dtsen.exchange"
    label = "exchange"
    default_auto_field = "django.db.models.BigAutoField"
