"""Cases as linkage compares them: the coded facts two reports of one patient share.

A hospital's record and a case report of the same patient agree on what the
patient is (sex, age, year, primary, histology, receptors) and on where and
when the disease spread; they may code a site at another level (C44 vs C44.4),
miss receptors, or be a year apart. Everything here is one row per case, built
in a fixed number of queries, so the model sees the registry as a table.
"""

from collections import defaultdict

import pandas as pd
from django.db.models import QuerySet

from registry.linkage.facts import her2_status, receptor_status
from registry.models import Case, Citation, Metastasis, Source

COLUMNS = (
    "unique_id",
    "sex",
    "age",
    "year",
    "primary_site",
    "primary_category",
    "morphology",
    "morphology_family",
    "laterality",
    "grade",
    "stage",
    "er",
    "pr",
    "her2",
    "ki67",
    "sites",
    "site_categories",
    "site_groups",
    "first_months",
    "institution",
    "institution_name",
    "affiliations",
)


def _unknown_as_none(value: str) -> str | None:
    return None if value in ("", "unknown") else value


def linkage_frame(cases: QuerySet[Case]) -> pd.DataFrame:
    """One row per case: the columns of `COLUMNS`, missing facts as null."""
    rows = list(
        cases.order_by("pk").values_list(
            "pk",
            "primary_laterality",
            "grade",
            "stage_group",
            "ki67_percent",
            "sex",
            "age_at_diagnosis",
            "year_of_diagnosis",
            "primary_site_id",
            "primary_morphology_id",
            "er_percent",
            "pr_percent",
            "her2_ihc",
            "her2_ish",
            "institution__code",
            "institution__name",
            "source",
            "doi",
            "pmid",
        )
    )
    ids = [row[0] for row in rows]
    lesions: dict[int, list[tuple[str, str, int | None]]] = defaultdict(list)
    for case_id, site, group, months in (
        Metastasis.objects.filter(case_id__in=ids)
        .order_by()
        .values_list("case_id", "site_id", "site__site_group", "months_from_primary")
        .iterator(chunk_size=20_000)
    ):
        lesions[case_id].append((site, group, months))
    affiliations = _literature_affiliations(rows)
    records = []
    for (case_id, laterality, grade, stage, ki67, sex, age, year, primary, morphology,
         er, pr, ihc, ish, code, name, source, doi, pmid) in rows:  # fmt: skip
        sites = lesions.get(case_id, [])
        months = [m for _, _, m in sites if m is not None]
        records.append(
            {
                "unique_id": case_id,
                "sex": _unknown_as_none(sex),
                "age": age,
                "year": year,
                "primary_site": primary,
                "primary_category": primary[:3],
                "morphology": morphology,
                "morphology_family": morphology[:3],
                "laterality": _unknown_as_none(laterality),
                "grade": None if grade == "GX" else grade,
                "stage": _unknown_as_none(stage),
                "ki67": ki67,
                "er": receptor_status(er),
                "pr": receptor_status(pr),
                "her2": her2_status(ihc, ish),
                "sites": sorted({site for site, _, _ in sites}),
                "site_categories": sorted({site[:3] for site, _, _ in sites}),
                "site_groups": sorted({group for _, group, _ in sites if group}),
                "first_months": min(months) if months else None,
                "institution": code,
                "institution_name": name.lower(),
                "affiliations": affiliations.get((doi, pmid), "")
                if source == Source.LITERATURE
                else "",
            }
        )
    return pd.DataFrame.from_records(records, columns=list(COLUMNS))


def _literature_affiliations(rows) -> dict[tuple[str, str], str]:
    """The authors' institutions of each literature case's report, lower-cased."""
    dois = {row[17].lower() for row in rows if row[16] == Source.LITERATURE and row[17]}
    pmids = {row[18] for row in rows if row[16] == Source.LITERATURE and row[18]}
    if not dois and not pmids:
        return {}
    by_doi, by_pmid = {}, {}
    for citation in Citation.objects.filter(doi__in=dois) | Citation.objects.filter(pmid__in=pmids):
        if citation.doi:
            by_doi[citation.doi.lower()] = citation.affiliations.lower()
        if citation.pmid:
            by_pmid[citation.pmid] = citation.affiliations.lower()
    found = {}
    for row in rows:
        doi, pmid = row[17], row[18]
        text = by_doi.get(doi.lower()) if doi else None
        found[(doi, pmid)] = text if text is not None else by_pmid.get(pmid, "")
    return found
