from django.apps import AppConfig


class RegistryConfig(AppConfig):
    """The domain: vocabularies, cases, validation edits, services and selectors."""

    name = "registry"
    verbose_name = "Rare-metastasis registry"

    def ready(self):
        from django.db.models.signals import post_migrate

        from registry.cache_table import ensure_after_migrate

        post_migrate.connect(ensure_after_migrate, sender=self)
