from django.apps import AppConfig


class ProgramsConfig(AppConfig):
    """Social assistance programs: dated rules, eligibility runs, decrees, disbursement, membership."""

    name = "dtsen.programs"
    label = "programs"
    default_auto_field = "django.db.models.BigAutoField"
