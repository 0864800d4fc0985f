"""The curation admin: review queue, case corrections with history, vocabularies,
institutions, users and API tokens, citations and the linkage review queue.

Importing the modules registers their admins; each write calls a service.
"""

from django.contrib import admin

from registry.admin import cases, literature, people, tokens, vocabularies, withdrawals

admin.site.site_header = "Rare-metastasis registry"
admin.site.site_title = "Registry curation"
admin.site.index_title = "Curation"

__all__ = ["cases", "literature", "people", "tokens", "vocabularies", "withdrawals"]
