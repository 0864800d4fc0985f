"""`/api/v1/dictionary/` and `/dictionary/`: the data dictionary, as JSON and as a page.

Public: it describes what can be asked and how answers are protected, never a
count. Both are `registry.published_dictionary.data_dictionary()`, rendered twice.
"""

from django.shortcuts import render
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from registry.published_dictionary import data_dictionary


class DictionaryView(APIView):
    """Dimensions, values, hierarchies, filters, protection and releases, as analysts query them."""

    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer]

    @extend_schema(
        operation_id="v1_dictionary",
        summary="The data dictionary: what analysts can count, by what, and how it is protected",
        description=(
            "dimensions (each with its values, or where they are listed: a vocabulary and its "
            "level, the age band schemes, the years or periods; whether analysts may filter by "
            "it), filters (analysts' with their values; curators' only), site_levels, "
            "age_band_schemes, years, periods, months_to_metastasis, vocabularies (topography "
            "code -> category -> site group; morphology; subtypes), protection (threshold and "
            "noise bounds) and releases. Generated from the declarations that validate "
            "requests; a readable page at /dictionary/."
        ),
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT, "The data dictionary")},
    )
    def get(self, request):
        return Response(data_dictionary())


def dictionary_page(request):
    """The same dictionary, to read: one table per dimension and vocabulary."""
    return render(request, "dictionary.html", {"dictionary": data_dictionary()})
