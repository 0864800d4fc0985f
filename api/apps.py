from django.apps import AppConfig


class ApiConfig(AppConfig):
    """HTTP and outside formats (JSON, CSV, FHIR) translated to registry calls."""

    name = "api"
