from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "dtsen.accounts"
    label = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # connects the audit of logins, logouts and lockouts (imported here: it needs the app registry ready)
        # cached scopes (dtsen.dci.selectors.partner_keys) are dropped when roles or users change
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_delete, post_save

        from dtsen.accounts import auth_signals  # noqa: F401
        from dtsen.accounts.models import RoleAssignment
        from dtsen.accounts.selectors import roles_changed

        for model in (RoleAssignment, get_user_model()):
            post_save.connect(roles_changed, sender=model, dispatch_uid=f"roles_changed_save_{model.__name__}")
            post_delete.connect(roles_changed, sender=model, dispatch_uid=f"roles_changed_delete_{model.__name__}")
