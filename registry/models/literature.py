"""The published reports behind literature cases: one citation per DOI or PMID.

A literature case (`Case.source == literature`) names its report by `Case.doi`
and/or `Case.pmid`; the citation is read from the report's PubMed/MEDLINE or
Crossref record (`registry.citations`), never typed. Several cases may cite one
report (a case series), but a report is recorded once: a DOI or PMID already
held is a duplicate, whatever its spelling (DOIs are compared case-folded).
"""

from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from registry.models.choices import CitationFormat


class Citation(models.Model):
    """A published case report as its bibliographic record describes it."""

    doi = models.CharField("DOI", max_length=200, blank=True)
    pmid = models.CharField("PMID", max_length=12, blank=True)
    title = models.TextField()
    journal = models.CharField(max_length=300, blank=True)
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    authors = models.JSONField(
        default=list, blank=True, help_text="Names as the record gives them."
    )
    affiliations = models.TextField(
        blank=True, help_text="The authors' institutions, for record linkage."
    )
    abstract = models.TextField(blank=True)
    record_format = models.CharField(max_length=16, choices=CitationFormat.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-year", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(doi="") | ~Q(pmid=""), name="citation_has_id"),
            models.UniqueConstraint(Lower("doi"), condition=~Q(doi=""), name="citation_doi_unique"),
            models.UniqueConstraint(
                fields=["pmid"], condition=~Q(pmid=""), name="citation_pmid_unique"
            ),
        ]

    def __str__(self) -> str:
        first = self.authors[0] if self.authors else "Anonymous"
        more = " et al." if len(self.authors) > 1 else ""
        return f"{first}{more} {self.journal} {self.year or ''}".strip()

    @property
    def url(self) -> str:
        """Where a reader finds the report: its DOI, else its PubMed page."""
        if self.doi:
            return f"https://doi.org/{self.doi}"
        return f"https://pubmed.ncbi.nlm.nih.gov/{self.pmid}/"
