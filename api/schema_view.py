"""The OpenAPI document, served from a cache and throttled.

Generating it takes about a second of CPU (more at start-up) and rendering the
YAML another half, and the endpoint is anonymous (air-gapped hospitals read it
before they have a token), so unthrottled it was a cheap way to keep workers
busy. The rendered document is kept in each worker's memory for
SCHEMA_CACHE_SECONDS per format (it is the same for everyone, and a cache hit
needs neither the database nor Redis), and each client (user, or address as
NUM_PROXIES says) may fetch it API_SCHEMA_RATE times, counted in the shared cache.
"""

import time

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView
from rest_framework.throttling import SimpleRateThrottle

_COPIED_HEADERS = ("Content-Type", "Content-Disposition")
# Rendered documents by format: (monotonic expiry, body, headers).
_rendered: dict[str, tuple[float, bytes, dict[str, str]]] = {}


class SchemaRateThrottle(SimpleRateThrottle):
    """Schema fetches per client: its user when signed in, else its address."""

    scope = "schema"

    def get_cache_key(self, request, view):
        user = getattr(request, "user", None)
        ident = f"user-{user.pk}" if user and user.is_authenticated else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


class CachedSchemaView(SpectacularAPIView):
    """drf-spectacular's schema view, its rendered answer cached for every worker."""

    throttle_classes = [SchemaRateThrottle]

    @extend_schema(exclude=True)  # SERVE_INCLUDE_SCHEMA is off: the document leaves itself out
    def get(self, request, *args, **kwargs):
        stored = _rendered.get(self._cache_key(request))
        if stored is not None and stored[0] > time.monotonic():
            return HttpResponse(stored[1], headers=stored[2])
        return super().get(request, *args, **kwargs)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if response.status_code == 200 and hasattr(response, "render"):
            response.render()
            headers = {
                name: response[name] for name in _COPIED_HEADERS if response.has_header(name)
            }
            expiry = time.monotonic() + settings.SCHEMA_CACHE_SECONDS
            _rendered[self._cache_key(request)] = (expiry, response.content, headers)
        return response

    @staticmethod
    def _cache_key(request) -> str:
        renderer = getattr(request, "accepted_renderer", None)
        media = getattr(renderer, "format", "") or ""
        return (
            "openapi-schema:"
            + ":".join([media, request.GET.get("lang", ""), request.GET.get("version", "")])[:200]
        )
