from django.apps import AppConfig


class DciConfig(AppConfig):
    """The DCI Social Registry API (issue 8): signed search requests from registered partner systems."""

    name = "dtsen.dci"
    label = "dci"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # the partners cached by dtsen.dci.selectors.partner_keys are dropped when a partner or key changes here
        from django.db.models.signals import post_delete, post_save

        from dtsen.dci.models import Partner, PartnerKey
        from dtsen.dci.selectors import dci_cache_clear

        def clear(**_: object) -> None:
            dci_cache_clear()

        self._clear = clear  # the signal holds a weak reference
        for model in (Partner, PartnerKey):
            post_save.connect(clear, sender=model, dispatch_uid=f"dci_cache_save_{model.__name__}")
            post_delete.connect(clear, sender=model, dispatch_uid=f"dci_cache_delete_{model.__name__}")
