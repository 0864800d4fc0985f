"""The product's URLs plus `/bench/constant`, a bare Django view for the POST baseline."""

from django.http import JsonResponse
from django.urls import path

from config.urls import handler400, handler403, handler404, handler500  # noqa: F401
from config.urls import urlpatterns as product_urlpatterns

CONSTANT = {"status": "ok", "detail": "constant body of the benchmark's bare view"}


def constant(request):
    """What a request costs with no work: the floor under any API call on this server."""
    return JsonResponse(CONSTANT)


urlpatterns = [path("bench/constant", constant, name="bench-constant"), *product_urlpatterns]
