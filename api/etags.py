"""ETags from the case version, and `If-Match` for optimistic concurrency."""

import re

from rest_framework.exceptions import ValidationError

_ETAG = re.compile(r'^(?:W/)?"v(\d+)"$')


def case_etag(case) -> str:
    return f'"v{case.version}"'


def expected_version(request) -> int | None:
    """The version named by `If-Match`, None when absent or `*` (no precondition)."""
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return None
    match = _ETAG.match(header.strip())
    if match is None:
        raise ValidationError({"If-Match": ['Use the ETag of the case, e.g. "v3".']})
    return int(match.group(1))
