from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    """Staff dashboards (issue 7): aggregates of a region by role, with charts, tables, CSV and a map."""

    name = "dtsen.dashboards"
    label = "dashboards"
    default_auto_field = "django.db.models.BigAutoField"
