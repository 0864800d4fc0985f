"""Pagination: cursor pages for cases, limit/offset for the small vocabularies."""

from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination, LimitOffsetPagination


class CasePagination(CursorPagination):
    """Newest first, stable while hospitals keep submitting; `page_size` up to 500."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def paginate_queryset(self, queryset, request, view=None):
        try:
            return super().paginate_queryset(queryset, request, view)
        except NotFound:
            # A mangled cursor is bad input, not a missing resource.
            raise ValidationError(
                {"cursor": ["Invalid cursor; follow the next/previous links."]}
            ) from None


class VocabularyPagination(LimitOffsetPagination):
    """Whole vocabularies fit in a few pages; `limit` up to 1,000."""

    default_limit = 100
    max_limit = 1000
