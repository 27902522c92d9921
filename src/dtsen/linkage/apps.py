from django.apps import AppConfig


class LinkageConfig(AppConfig):
    """One person, one record (issue 9): probabilistic deduplication with Splink, review and reversible merges."""

    name = "dtsen.linkage"
    label = "linkage"
    default_auto_field = "django.db.models.BigAutoField"
