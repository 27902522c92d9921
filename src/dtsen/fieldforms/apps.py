from django.apps import AppConfig


class FieldformsConfig(AppConfig):
    """The ODK/KoboToolbox bridge (issue 8): the visit questionnaire as an XLSForm, submissions imported as visits."""

    name = "dtsen.fieldforms"
    label = "fieldforms"
    default_auto_field = "django.db.models.BigAutoField"
