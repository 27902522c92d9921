from django.apps import AppConfig


class RankingConfig(AppConfig):
    name = "dtsen.ranking"
    label = "ranking"
    default_auto_field = "django.db.models.BigAutoField"
