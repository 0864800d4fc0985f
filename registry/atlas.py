"""The literature atlas: published case reports row by row, and the similar-case finder.

Case reports are public by nature (their DOI or PMID names them), so the atlas
shows them case by case; hospital cases never appear in it (`atlas_cases`
starts from literature cases only). Who may read it is `registry.access`.

Similarity (`similar_cases`) is a documented sum of points, one term per fact
the clinician gave, so every match carries its reasons:

| fact | points |
|---|---|
| metastatic site | 4 same code, 3 same category (C44), 2 same site group (Skin) |
| primary site | 2 same code, 1.5 same category (C50) |

| morphology | 2 same code, 1 same family (first three digits: 850x) |
| subtype | 1.5 same |
| presentation, misdiagnosis | 1 each, at the matched metastasis |
| months to metastasis | 1 within 12, 0.5 within 36 |
| sex, age band (decades) | 0.5 each |
| ER, PR, HER2 status | 0.25 each |
| free text (full-text match) | 1 |

A fact given as a category (site C44, primary C50) is matched in full by any
code in it. The score is the points earned over the points the query could earn (0-1);
ties go to the case with more reasons, then to the newer case.
"""

from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet

from registry.access import age_band_range
from registry.linkage.facts import her2_status, receptor_status
from registry.models import Case, Citation, Metastasis, ReviewStatus, Source, Topography, User
from registry.selectors import with_case_details

# ---------------------------------------------------------------- the atlas


def literature_cases(user: User | None) -> QuerySet[Case]:
    """Published cases a reader may see: verified ones, and every status for curators."""
    cases = Case.objects.filter(source=Source.LITERATURE)
    if user is not None and user.is_authenticated and user.is_curator:
        return cases
    return cases.filter(status=ReviewStatus.VERIFIED)


def text_match(text: str) -> Q:
    """Literature free text matching `text`: misdiagnosis notes and the report's title and
    abstract, by PostgreSQL full-text search (websearch syntax); a substring elsewhere."""
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchVector

        query = SearchQuery(text, search_type="websearch", config="english")
        notes = Metastasis.objects.annotate(
            document=SearchVector("misdiagnosis_text", config="english")
        ).filter(document=query)
        reports = Citation.objects.annotate(
            document=SearchVector("title", "abstract", config="english")
        ).filter(document=query)
    else:
        notes = Metastasis.objects.filter(misdiagnosis_text__icontains=text)
        reports = Citation.objects.filter(Q(title__icontains=text) | Q(abstract__icontains=text))
    cited = reports.filter(
        (Q(doi__iexact=OuterRef("doi")) & ~Q(doi="")) | (Q(pmid=OuterRef("pmid")) & ~Q(pmid=""))
    )
    return Q(Exists(notes.filter(case_id=OuterRef("pk")))) | Q(Exists(cited))


def atlas_cases(
    *,
    user: User | None,
    site: str | None = None,
    site_category: str | None = None,
    site_group: str | None = None,
    primary_category: str | None = None,
    q: str | None = None,
) -> QuerySet[Case]:
    """Literature cases by metastatic site (any level) and primary, newest first."""
    cases = literature_cases(user)
    lesion = Q()
    if site:
        lesion &= Q(site_id=site)
    if site_category:
        lesion &= Q(site__code__startswith=f"{site_category}.")
    if site_group:
        lesion &= Q(site__site_group=site_group)
    if lesion:
        cases = cases.filter(Exists(Metastasis.objects.filter(lesion, case_id=OuterRef("pk"))))
    if primary_category:
        cases = cases.filter(primary_site__code__startswith=f"{primary_category}.")
    if q:
        cases = cases.filter(text_match(q))
    return with_case_details(cases).order_by("-year_of_diagnosis", "-id")


def citations_of(cases: list[Case]) -> dict[int, Citation]:
    """Each case's citation (by DOI, else PMID), in one query."""
    dois = {case.doi.lower() for case in cases if case.doi}
    pmids = {case.pmid for case in cases if case.pmid}
    if not dois and not pmids:
        return {}
    found = Citation.objects.filter(Q(doi__in=dois) | Q(pmid__in=pmids))
    by_doi = {citation.doi: citation for citation in found if citation.doi}
    by_pmid = {citation.pmid: citation for citation in found if citation.pmid}
    cited = {}
    for case in cases:
        citation = by_doi.get(case.doi.lower()) or by_pmid.get(case.pmid)
        if citation is not None:
            cited[case.pk] = citation
    return cited


# ---------------------------------------------------------------- similar cases


@dataclass(frozen=True)
class PartialCase:
    """What a clinician knows of a patient; every part optional."""

    primary: str | None = None  # a code (C50.9) or a category (C50)
    morphology: str | None = None
    subtype: str | None = None
    site: str | None = None  # a code (C44.4) or a category (C44)
    presentation: str | None = None
    misdiagnosis: str | None = None
    months: int | None = None
    sex: str | None = None
    age_band: str | None = None
    er_percent: int | None = None
    pr_percent: int | None = None
    her2_ihc: str | None = None
    her2_ish: str | None = None
    text: str | None = None


@dataclass(frozen=True)
class Match:
    case: Case
    score: float
    points: float
    reasons: list[str] = field(default_factory=list)


def _category(code: str) -> str:
    return code[:3]


def _site_points(query: PartialCase, lesion: Metastasis, group: str | None) -> tuple[float, str]:
    site = query.site
    if lesion.site_id == site:
        return 4, f"metastasis at the same site, {lesion.site_id} ({lesion.site.title})"
    if _category(lesion.site_id) == _category(site):
        # A category asked for is matched in full by any site in it.
        earned = 4 if site == _category(site) else 3
        return earned, f"metastasis in the site category {_category(site)}, {lesion.site_id} " + (
            f"({lesion.site.title})"
        )
    if group and lesion.site.site_group == group:
        return 2, f"metastasis in the same site group, {group} ({lesion.site_id})"
    return 0, ""


def _lesion_points(query: PartialCase, lesion: Metastasis, group: str | None):
    """Points and reasons of one metastasis: its site, presentation, misdiagnosis, timing."""
    points, reasons = 0.0, []
    if query.site:
        earned, reason = _site_points(query, lesion, group)
        points += earned
        reasons += [reason] if reason else []
    if query.presentation and lesion.presentation == query.presentation:
        points += 1
        reasons.append(f"presented as {lesion.get_presentation_display().lower()}")
    if query.misdiagnosis and lesion.misdiagnosis == query.misdiagnosis:
        points += 1
        reasons.append(f"first taken for: {lesion.get_misdiagnosis_display().lower()}")
    if query.months is not None and lesion.months_from_primary is not None:
        gap = abs(lesion.months_from_primary - query.months)
        if gap <= 12:
            points += 1
            reasons.append(f"{lesion.months_from_primary} months from the primary (within 12)")
        elif gap <= 36:
            points += 0.5
            reasons.append(f"{lesion.months_from_primary} months from the primary (within 36)")
    return points, reasons


def possible_points(query: PartialCase) -> float:
    """What a case matching every given fact earns."""
    weights = {
        "site": 4, "primary": 2, "morphology": 2, "subtype": 1.5, "presentation": 1,
        "misdiagnosis": 1, "months": 1, "sex": 0.5, "age_band": 0.5, "text": 1,
    }  # fmt: skip
    total = sum(weight for name, weight in weights.items() if getattr(query, name) is not None)
    receptors = [
        query.er_percent,
        query.pr_percent,
        query.her2_ihc or query.her2_ish or None,
    ]
    return total + 0.25 * sum(value is not None for value in receptors)


def score_case(
    query: PartialCase, case: Case, group: str | None, text_hit: bool
) -> tuple[float, list[str]]:
    """The points a case earns against the query, with a reason for each."""
    points, reasons = 0.0, []
    if query.primary:
        if case.primary_site_id == query.primary:
            points += 2
            reasons.append(f"same primary site, {case.primary_site_id}")
        elif _category(case.primary_site_id) == _category(query.primary):
            points += 2 if query.primary == _category(query.primary) else 1.5
            reasons.append(f"primary in {_category(query.primary)}, {case.primary_site_id}")
    if query.morphology:
        if case.primary_morphology_id == query.morphology:
            points += 2
            reasons.append(f"same histology, {case.primary_morphology_id}")
        elif case.primary_morphology_id[:3] == query.morphology[:3]:
            points += 1
            reasons.append(f"related histology, {case.primary_morphology_id}")
    if query.subtype and case.subtype_id == query.subtype:
        points += 1.5
        reasons.append(f"same subtype, {case.subtype.title if case.subtype else case.subtype_id}")
    if query.sex and case.sex == query.sex:
        points += 0.5
        reasons.append(f"same sex, {case.sex}")
    if query.age_band and case.age_at_diagnosis is not None:
        low, high = age_band_range(query.age_band)
        if low <= case.age_at_diagnosis <= high:
            points += 0.5
            reasons.append(f"age band {query.age_band}")
    her2_given = her2_status(query.her2_ihc or "", query.her2_ish or "")
    for name, given, recorded in (
        ("ER", receptor_status(query.er_percent), receptor_status(case.er_percent)),
        ("PR", receptor_status(query.pr_percent), receptor_status(case.pr_percent)),
        ("HER2", her2_given, her2_status(case.her2_ihc, case.her2_ish)),
    ):
        if given and given == recorded:
            points += 0.25
            reasons.append(f"{name} {recorded}")
    best = max(
        (_lesion_points(query, lesion, group) for lesion in case.metastases.all()),
        key=lambda found: found[0],
        default=(0.0, []),
    )
    points += best[0]
    reasons += best[1]
    if text_hit:
        points += 1
        reasons.append(f"free text matches '{query.text}'")
    return points, reasons


def _candidates(cases: QuerySet[Case], query: PartialCase, *, broad: bool) -> QuerySet[Case]:
    """Cases that can score well: sharing the primary category and a site's category or group
    (`broad`: either, or the histology family, for the small literature).

    Only these are scored, so the cost follows the pattern's cases, not the registry's.
    """
    conditions = []
    if query.primary:
        conditions.append(Q(primary_site__code__startswith=f"{_category(query.primary)}."))
    if query.site:
        group = _site_group(query.site)
        lesion = Q(site__code__startswith=f"{_category(query.site)}.")
        if group:
            lesion |= Q(site__site_group=group)
        conditions.append(Q(Exists(Metastasis.objects.filter(lesion, case_id=OuterRef("pk")))))
    if query.morphology and broad:
        conditions.append(Q(primary_morphology__code__startswith=query.morphology[:3]))
    if not conditions:
        return cases
    combined = conditions[0]
    for condition in conditions[1:]:
        combined = (combined | condition) if broad else (combined & condition)
    return cases.filter(combined)


def _site_group(site: str | None) -> str | None:
    if not site:
        return None
    found = Topography.objects.filter(code__startswith=site[:3]).values_list(
        "site_group", flat=True
    )
    return next(iter(found), None)


def similar_cases(
    *,
    query: PartialCase,
    cases: QuerySet[Case],
    limit: int = 20,
    scan: int = 2_000,
    broad: bool = True,
) -> list[Match]:
    """The `limit` cases of `cases` most like the query, best first, each with its reasons.

    At most `scan` candidates are scored (the newest), so a broad query stays bounded;
    `broad` (the literature) scores cases sharing any of primary, site or histology,
    otherwise (the registry's cases) cases sharing the primary and the site.
    """
    possible = possible_points(query)
    if possible == 0:
        return []
    group = _site_group(query.site)
    candidates = with_case_details(_candidates(cases, query, broad=broad)).order_by("-id")[:scan]
    candidates = list(candidates)
    text_hits: set[int] = set()
    if query.text:
        ids = [case.pk for case in candidates]
        text_hits = set(
            Case.objects.filter(pk__in=ids)
            .filter(text_match(query.text))
            .values_list("pk", flat=True)
        )
    matches = []
    for case in candidates:
        points, reasons = score_case(query, case, group, case.pk in text_hits)
        if points > 0:
            matches.append(Match(case, round(points / possible, 3), points, reasons))
    matches.sort(key=lambda match: (-match.score, -len(match.reasons), -match.case.pk))
    return matches[:limit]
