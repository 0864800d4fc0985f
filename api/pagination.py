"""Pagination: cursor pages for cases, limit/offset for the small vocabularies.

Paging parameters are strict: a value that is not what the schema says is a 400
naming it, never a silent default, and a hand-made cursor is bad input (400),
never a database error.
"""

import re

from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination, LimitOffsetPagination

_BIGINT = 2**63 - 1
_INTEGER = re.compile(r"[0-9]{1,19}")


def strict_int(request, name: str, *, minimum: int, maximum: int) -> int | None:
    """The query parameter `name` as an int in [minimum, maximum], None if absent; else 400."""
    if name not in request.query_params:
        return None
    text = request.query_params[name]
    if not _INTEGER.fullmatch(text) or not minimum <= int(text) <= maximum:
        raise ValidationError({name: [f"Give a whole number from {minimum} to {maximum}."]})
    return int(text)


class CasePagination(CursorPagination):
    """Newest first, stable while hospitals keep submitting; `page_size` from 1 to 500."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    invalid_cursor = "Invalid cursor; follow the next/previous links."

    def get_page_size(self, request):
        size = strict_int(
            request, self.page_size_query_param, minimum=1, maximum=self.max_page_size
        )
        return self.page_size if size is None else size

    def decode_cursor(self, request):
        cursor = super().decode_cursor(request)
        # The position is an id (ordering "-id"); anything else would reach the query.
        position = cursor.position if cursor is not None else None
        if position is not None and not (_INTEGER.fullmatch(position) and int(position) <= _BIGINT):
            raise NotFound(self.invalid_cursor)
        return cursor

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
        return parameters

    def paginate_queryset(self, queryset, request, view=None):
        try:
            return super().paginate_queryset(queryset, request, view)
        except NotFound:
            # A mangled cursor is bad input, not a missing resource.
            raise ValidationError({"cursor": [self.invalid_cursor]}) from None


class VocabularyPagination(LimitOffsetPagination):
    """Whole vocabularies fit in a few pages; `limit` from 1 to 1,000, `offset` from 0."""

    default_limit = 100
    max_limit = 1000

    def get_limit(self, request):
        limit = strict_int(request, self.limit_query_param, minimum=1, maximum=self.max_limit)
        return self.default_limit if limit is None else limit

    def get_offset(self, request):
        offset = strict_int(request, self.offset_query_param, minimum=0, maximum=_BIGINT)
        return offset or 0

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        bounds = {"limit": (1, self.max_limit), "offset": (0, None)}
        for parameter in parameters:
            low, high = bounds[parameter["name"]]
            parameter["schema"]["minimum"] = low
            if high is not None:
                parameter["schema"]["maximum"] = high
        return parameters
