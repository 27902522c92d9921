from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "dtsen.registry"
    label = "registry"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from simple_history.signals import pre_create_historical_record

        from dtsen.registry.history import fill_version_info

        pre_create_historical_record.connect(fill_version_info, dispatch_uid="dtsen_version_info")
