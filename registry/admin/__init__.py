"""The curation admin: review queue, case corrections with history, vocabularies,
institutions, users and API tokens.

Importing the modules registers their admins; each write calls a service.
"""

from django.contrib import admin

from registry.admin import cases, people, releases, tokens, vocabularies

admin.site.site_header = "Rare-metastasis registry"
admin.site.site_title = "Registry curation"
admin.site.index_title = "Curation"

__all__ = ["cases", "people", "releases", "tokens", "vocabularies"]
