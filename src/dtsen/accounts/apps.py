from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "dtsen.accounts"
    label = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # connects the audit of logins, logouts and lockouts (imported here: it needs the app registry ready)
        from dtsen.accounts import auth_signals  # noqa: F401
