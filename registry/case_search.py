"""What a search term finds among cases: one meaning for the API's `q` and the admin.

A curator pastes whatever identifies a case to them, an integrator its own key:
- the local id, or a fragment of it (`scalp`, `2019-0`);
- the UUID, whole or its first characters as the admin's queue shows them (`3f2a9c1e`);
- a site code, primary or metastatic: `C44.4` (or `c444`) exactly, `C44` as a category;
- words of a metastasis's misdiagnosis text (`benign`).

The search runs only over the cases the caller may read (`registry.access`), and
analysts may not search at all, so it never tells them a row exists.
"""

import contextlib
import re
import uuid

from django.db.models import Exists, OuterRef, Q

from registry.models import Metastasis

_SITE_CODE = re.compile(r"C(\d\d)(?:\.?(\d))?")
# The admin shows eight characters of a UUID; four is the least that is not a word.
_UUID_PREFIX = re.compile(r"[0-9a-f-]{4,36}")


def case_search(term: str) -> Q:
    """The cases a search term finds (empty term: every case)."""
    term = term.strip()
    if not term:
        return Q()
    match = Q(local_id__icontains=term)
    match |= Q(Exists(_metastases().filter(misdiagnosis_text__icontains=term)))
    by_uuid = _uuid_match(term.lower())
    if by_uuid is not None:
        match |= by_uuid
    code = _SITE_CODE.fullmatch(term.upper())
    if code:
        category, digit = code.groups()
        if digit:
            site = f"C{category}.{digit}"
            match |= Q(primary_site_id=site) | Q(Exists(_metastases().filter(site_id=site)))
        else:
            # A category is the first three characters of its codes (the indexed column).
            prefix = f"C{category}."
            match |= Q(primary_site__code__startswith=prefix)
            match |= Q(Exists(_metastases().filter(site__code__startswith=prefix)))
    return match


def _metastases():
    return Metastasis.objects.filter(case_id=OuterRef("pk"))


def _uuid_match(term: str) -> Q | None:
    with contextlib.suppress(ValueError):
        return Q(uuid=uuid.UUID(term))  # a whole UUID: the unique index
    if _UUID_PREFIX.fullmatch(term):
        return Q(uuid__startswith=term)
    return None
