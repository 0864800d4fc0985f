from django.apps import AppConfig


class RegistryConfig(AppConfig):
    """The domain: vocabularies, cases, validation edits, services and selectors."""

    name = "registry"
    verbose_name = "Rare-metastasis registry"
