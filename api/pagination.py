"""Cursor pagination: stable pages while hospitals keep submitting."""

from rest_framework.pagination import CursorPagination


class CasePagination(CursorPagination):
    """Newest first; `page_size` up to 500."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
