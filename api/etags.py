"""ETags from the case version, and `If-Match` as RFC 9110 (section 13.1.1) reads it.

`If-Match: *` holds for any existing case; a list of entity-tags holds when one
of them is the case's current one by strong comparison, so a weak tag or a
well-formed tag the registry never issued fails the precondition (412) rather
than being a syntax error. Only a header that is not an entity-tag list is a 400.
"""

import re

from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import ValidationError

from registry.services.cases import VersionPrecondition

# RFC 9110: entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, etagc = %x21 / %x23-7E / obs-text
_ENTITY_TAG = re.compile(r'(W/)?"([\x21\x23-\x7e\x80-\xff]*)"')
_TAG_LIST = re.compile(
    r'\s*(?:W/)?"[\x21\x23-\x7e\x80-\xff]*"\s*(?:,\s*(?:W/)?"[\x21\x23-\x7e\x80-\xff]*"\s*)*'
)
# Exactly what case_etag writes: "v01" or "v+1" is a tag the registry never issued.
_OUR_TAG = re.compile(r"v(0|[1-9][0-9]{0,17})")


def case_etag(case) -> str:
    return f'"v{case.version}"'


def etag_header(*statuses: int) -> OpenApiParameter:
    """The `ETag` response header in the schema, on the answers with these statuses."""
    return OpenApiParameter(
        "ETag",
        location=OpenApiParameter.HEADER,
        response=list(statuses),
        required=True,
        description='The version of the case, e.g. "v3"; send it back in If-Match.',
    )


def expected_version(request) -> VersionPrecondition | None:
    """What `If-Match` requires of the case; None when the header is absent."""
    header = request.headers.get("If-Match")
    if header is None:
        return None
    if header.strip() == "*":
        return VersionPrecondition(any_version=True)
    if _TAG_LIST.fullmatch(header) is None:
        raise ValidationError({"If-Match": ['Use the ETag of the case, e.g. "v3", or *.']})
    versions = set()
    for match in _ENTITY_TAG.finditer(header):
        ours = _OUR_TAG.fullmatch(match.group(2))
        if match.group(1) is None and ours is not None:  # weak tags never match strongly
            versions.add(int(ours.group(1)))
    return VersionPrecondition(frozenset(versions))
