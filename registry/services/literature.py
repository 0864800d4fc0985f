"""Writing citations: one per report, read from its record, duplicates refused by name."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q

from registry.citations import CitationRecord
from registry.models import Citation


def duplicate_citation(*, doi: str = "", pmid: str = "") -> Citation | None:
    """The citation already holding this DOI (any case) or PMID, if any."""
    match = Q()
    if doi:
        match |= Q(doi__iexact=doi)
    if pmid:
        match |= Q(pmid=pmid)
    return Citation.objects.filter(match).first() if match else None


def citation_for(*, record: CitationRecord) -> Citation:
    """The citation of a record, not yet saved; ValidationError for a record without an
    identifier or title, or naming the citation that already holds its DOI or PMID."""
    if not record.doi and not record.pmid:
        raise ValidationError({"record": ["The record names neither a DOI nor a PMID."]})
    if not record.title:
        raise ValidationError({"record": ["The record has no title."]})
    existing = duplicate_citation(doi=record.doi, pmid=record.pmid)
    if existing is not None:
        raise _duplicate(existing)
    return Citation(
        doi=record.doi,
        pmid=record.pmid,
        title=record.title,
        journal=record.journal[:300],
        year=record.year,
        authors=record.authors,
        affiliations="\n".join(record.affiliations),
        abstract=record.abstract,
        record_format=record.record_format,
    )


def citation_store(*, record: CitationRecord) -> Citation:
    """Store a report's citation (`citation_for`, then saved)."""
    citation = citation_for(record=record)
    try:
        with transaction.atomic():
            citation.save()
            return citation
    except IntegrityError:  # stored by a concurrent request between the check and the insert
        raise _duplicate(duplicate_citation(doi=record.doi, pmid=record.pmid)) from None


def _duplicate(existing: Citation | None) -> ValidationError:
    if existing is None:
        return ValidationError({"record": ["This report is already recorded."]})
    keys = " / ".join(filter(None, [existing.doi and f"DOI {existing.doi}",
                                    existing.pmid and f"PMID {existing.pmid}"]))  # fmt: skip
    return ValidationError(
        {"record": [f"This report is already recorded ({keys}): citation #{existing.pk}."]}
    )
