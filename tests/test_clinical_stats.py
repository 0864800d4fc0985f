"""Clinical dimensions: presentation, misdiagnosis, confirmation, treatment, outcome.

Property tests draw random case sets and compare the curators' exact counts and
cross-tables with a recount in Python, and the analysts' protected ones with the
same recount (each within 2 of the truth, nothing below the threshold).
"""

import itertools
from collections import Counter
from dataclasses import dataclass, field

import pytest
from hypothesis import Phase, example, given, settings
from hypothesis import strategies as st

from registry.disclosure import HIDING_JITTER
from registry.models import ReviewStatus
from registry.models.choices import Confirmation, Misdiagnosis, Modality, Presentation, Response
from registry.services.cases import case_create, case_review
from registry.stats import MONTH_BANDS, NO_TREATMENT, Dimension, month_band_key
from tests.api_helpers import client_for
from tests.factories import InstitutionFactory, founding_payload
from tests.stats_helpers import STATS, cells_of, csv_data_lines, get, rows_of
from tests.test_stats import PROPERTY_SETTINGS, rolled_back

# No shrinking: each example writes cases, and a failure prints its example anyway.
CLINICAL_SETTINGS = settings(
    PROPERTY_SETTINGS, max_examples=15, phases=[Phase.explicit, Phase.reuse, Phase.generate]
)

SITES = ["C44.4", "C41.2", "C34.1", "C22.0"]
CLINICAL = [dimension for dimension in Dimension if dimension.clinical]
# The clinical dimensions with a few others to cross them with.
CROSSED = [*CLINICAL, Dimension.SITE, Dimension.SITE_GROUP, Dimension.SEX]


@dataclass(frozen=True)
class Lesion:
    site: str = "C44.4"
    months: int | None = None
    presentation: str = "nodule"
    misdiagnosis: str = "benign_lesion"
    confirmed_by: tuple[str, ...] = ("histology",)


@dataclass(frozen=True)
class Therapy:
    modality: str = "surgery"
    response: str = "unknown"


@dataclass(frozen=True)
class ClinicalSpec:
    lesions: tuple[Lesion, ...] = (Lesion(),)
    treatments: tuple[Therapy, ...] = ()
    sex: str = "female"
    vital_status: str = "unknown"
    follow_up: int | None = None
    status: str = ReviewStatus.VERIFIED
    diagnostic_sequence: str = "unknown"
    extra: dict = field(default_factory=dict, compare=False, hash=False)


def create_clinical_cases(specs: list[ClinicalSpec]) -> None:
    institution = InstitutionFactory(code="hosp-c", name="Hospital C")
    for number, spec in enumerate(specs):
        payload = founding_payload(
            sex=spec.sex,
            vital_status=spec.vital_status,
            diagnostic_sequence=spec.diagnostic_sequence,
            follow_up_months=spec.follow_up,
            metastases=[
                {
                    "site": lesion.site,
                    "laterality": "unknown",
                    "months_from_primary": lesion.months,
                    "presentation": lesion.presentation,
                    "misdiagnosis": lesion.misdiagnosis,
                    "confirmed_by": list(lesion.confirmed_by),
                }
                for lesion in spec.lesions
            ],
            treatments=[
                {"modality": t.modality, "target": "systemic", "response": t.response}
                for t in spec.treatments
            ],
        )
        case = case_create(
            institution=institution, local_id=f"clinical-{number}", payload=payload, actor=None
        )
        if spec.status != ReviewStatus.SUBMITTED:
            reason = "Not a metastasis on review" if spec.status == ReviewStatus.REJECTED else ""
            case_review(case=case, status=spec.status, reason=reason, actor=None)


def month_band(months: int | None) -> str:
    if months is None:
        return "unknown"
    for first, last in MONTH_BANDS:
        if last is None or months <= last:
            return month_band_key(first, last)
    raise AssertionError(months)


def misdiagnosed(kind: str) -> str:
    return {"none": "no", "unknown": "unknown"}.get(kind, "yes")


SITE_GROUPS = {"C44.4": "Skin", "C41.2": "Bone", "C34.1": "Lung", "C22.0": "Liver"}


def lesion_values(lesion: Lesion, dimension: Dimension) -> set[str]:
    return {
        Dimension.SITE: {lesion.site},
        Dimension.SITE_GROUP: {SITE_GROUPS[lesion.site]},
        Dimension.PRESENTATION: {lesion.presentation},
        Dimension.MISDIAGNOSIS: {lesion.misdiagnosis},
        Dimension.MISDIAGNOSED: {misdiagnosed(lesion.misdiagnosis)},
        Dimension.CONFIRMATION: set(lesion.confirmed_by) or {"unknown"},
        Dimension.MONTHS_TO_METASTASIS: {month_band(lesion.months)},
    }[dimension]


def therapy_values(spec: ClinicalSpec, dimension: Dimension) -> list[set[str]]:
    if not spec.treatments:
        return [{NO_TREATMENT}]
    return [
        {therapy.modality if dimension is Dimension.MODALITY else therapy.response}
        for therapy in spec.treatments
    ]


def row_values(spec: ClinicalSpec, dimension: Dimension) -> list[set[str]]:
    """The values of one case, one set per joined row (metastasis, treatment or the case)."""
    if dimension.relation == "metastases":
        return [lesion_values(lesion, dimension) for lesion in spec.lesions]
    if dimension.relation == "treatments":
        return therapy_values(spec, dimension)
    case_values = {
        Dimension.SEX: spec.sex,
        Dimension.VITAL_STATUS: spec.vital_status,
        Dimension.DIAGNOSTIC_SEQUENCE: spec.diagnostic_sequence,
    }
    return [{case_values[dimension]}]


def recount(specs: list[ClinicalSpec], dimension: Dimension) -> dict[str, int]:
    return dict(Counter(v for spec in specs for v in set().union(*row_values(spec, dimension))))


def recount_crosstab(specs, rows: Dimension, cols: Dimension) -> dict[tuple[str, str], int]:
    """Clinical dimensions of one relation pair values of the same metastasis or treatment.

    Two site dimensions pair any two metastases of the case (as before).
    """
    cells = Counter()
    same_row = rows.relation is not None and rows.relation == cols.relation
    same_row = same_row and (rows.clinical or cols.clinical)
    for spec in specs:
        pairs = set()
        if same_row:
            if rows.relation == "metastases":
                joined = [
                    (lesion_values(lesion, rows), lesion_values(lesion, cols))
                    for lesion in spec.lesions
                ]
            else:
                joined = list(
                    zip(therapy_values(spec, rows), therapy_values(spec, cols), strict=True)
                )
            for a, b in joined:
                pairs |= set(itertools.product(a, b))
        else:
            a = set().union(*row_values(spec, rows))
            b = set().union(*row_values(spec, cols))
            pairs = set(itertools.product(a, b))
        cells.update(pairs)
    return dict(cells)


lesions = st.builds(
    Lesion,
    site=st.sampled_from(SITES),
    months=st.sampled_from([None, 0, 4, 12, 30, 90]),
    presentation=st.sampled_from(["nodule", "nodule", "ulcer", "unknown"]),
    misdiagnosis=st.sampled_from(["benign_lesion", "none", "unknown", "infection"]),
    confirmed_by=st.sampled_from([(), ("histology",), ("histology", "ihc"), ("ct",)]),
)
therapies = st.builds(
    Therapy,
    modality=st.sampled_from(["surgery", "chemotherapy", "radiotherapy"]),
    response=st.sampled_from(["CR", "PD", "unknown"]),
)
clinical_specs = st.builds(
    ClinicalSpec,
    lesions=st.lists(lesions, min_size=1, max_size=3).map(tuple),
    treatments=st.lists(therapies, max_size=2).map(tuple),
    sex=st.sampled_from(["female", "male"]),
    vital_status=st.sampled_from(["alive", "dead", "unknown"]),
    status=st.sampled_from([ReviewStatus.VERIFIED, ReviewStatus.SUBMITTED]),
    diagnostic_sequence=st.sampled_from(["metastasis_first", "primary_first", "unknown"]),
)


@pytest.fixture
def django_settings(settings):
    return settings


# ---------------------------------------------------------------- counts equal the recount


@pytest.mark.postgres
@given(
    cases=st.lists(clinical_specs, max_size=8),
    pair=st.tuples(st.sampled_from(CROSSED), st.sampled_from(CROSSED)),
)
# Methods crossed with methods: PostgreSQL once paired two unnested lists row by
# row instead of crossing them, and (histology, ihc) went missing.
@example(
    cases=[ClinicalSpec(lesions=(Lesion(confirmed_by=("histology", "ihc")),))],
    pair=(Dimension.CONFIRMATION, Dimension.CONFIRMATION),
)
@CLINICAL_SETTINGS
def test_curators_clinical_counts_equal_a_python_recount(curator, cases, pair):
    client = client_for(curator)
    with rolled_back():
        create_clinical_cases(cases)
        for dimension in CLINICAL:
            body = get(client, "counts/", by=dimension.value)
            assert rows_of(body) == recount(cases, dimension), dimension
            assert body["total"]["cases"] == len(cases)
        rows, cols = pair
        body = get(client, "crosstab/", rows=rows.value, cols=cols.value)
        assert cells_of(body) == recount_crosstab(cases, rows, cols), pair
        assert {row["key"]: row["total"]["cases"] for row in body["rows"]} == recount(cases, rows)
        columns = {cell["key"]: cell["cases"] for cell in body["column_totals"]}
        assert columns == recount(cases, cols)
        assert body["total"]["cases"] == len(cases)


@pytest.mark.postgres
@given(
    cases=st.lists(clinical_specs, max_size=12),
    pair=st.tuples(st.sampled_from(CROSSED), st.sampled_from(CROSSED)),
)
@CLINICAL_SETTINGS
def test_analysts_see_clinical_counts_protected(analyst, django_settings, cases, pair):
    django_settings.REGISTRY_MIN_CELL_COUNT = 3
    client = client_for(analyst)
    with rolled_back():
        create_clinical_cases(cases)
        verified = [spec for spec in cases if spec.status == ReviewStatus.VERIFIED]
        rows, cols = pair
        for dimension in (rows, cols):
            body = get(client, "counts/", by=dimension.value)
            exact = recount(verified, dimension)
            shown = rows_of(body)
            # Counts of 3 to 3 + HIDING_JITTER - 1 may be hidden by the keyed jitter.
            assert set(shown) <= {key for key, n in exact.items() if n >= 3}
            assert set(shown) >= {key for key, n in exact.items() if n >= 3 + HIDING_JITTER}
            assert all(n >= 3 and abs(n - exact[key]) <= 2 for key, n in shown.items())
        body = get(client, "crosstab/", rows=rows.value, cols=cols.value)
        exact = recount_crosstab(verified, rows, cols)
        for (row, col), n in cells_of(body).items():
            assert n >= 3 and abs(n - exact[row, col]) <= 2
        # The same cases give the same number by every route.
        margins = {row["key"]: row["total"]["cases"] for row in body["rows"]}
        assert margins == rows_of(get(client, "counts/", by=rows.value))


# ---------------------------------------------------------------- what each value means


def test_a_case_with_two_nodules_counts_once_and_no_treatment_is_a_value(curator, db):
    create_clinical_cases(
        [ClinicalSpec(lesions=(Lesion(), Lesion(site="C41.2")), vital_status="dead")]
    )
    client = client_for(curator)
    presentations = get(client, "counts/", by="presentation")
    assert rows_of(presentations) == {"nodule": 1}
    assert presentations["rows"][0]["label"] == "Nodule"
    modality = get(client, "counts/", by="modality")
    assert modality["rows"] == [
        {
            "key": NO_TREATMENT,
            "label": "No treatment recorded",
            "cases": 1,
            "suppressed": False,
        }
    ]
    assert rows_of(get(client, "counts/", by="vital_status")) == {"dead": 1}


def test_clinical_counts_as_csv_show_the_json_numbers(curator, db):
    create_clinical_cases([ClinicalSpec(), ClinicalSpec(lesions=(Lesion(months=8),))])
    client = client_for(curator)
    response = client.get(STATS + "counts/", {"by": "months_to_metastasis", "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    lines = csv_data_lines(response)
    assert lines[0] == "key,label,cases,suppressed"
    assert "7-12,7 to 12 months,1,false" in lines
    assert "unknown,Unknown,1,false" in lines


# The vocabularies of the dimensions are the data dictionary's: every coded value is labelled.
@pytest.mark.parametrize(
    ("dimension", "choices"),
    [
        ("presentation", Presentation),
        ("misdiagnosis", Misdiagnosis),
        ("confirmation", Confirmation),
        ("modality", Modality),
        ("response", Response),
    ],
)
def test_every_coded_value_has_its_label(dimension, choices, db):
    from registry.stats import label_maker

    labels = label_maker(Dimension(dimension))
    for value, title in choices.choices:
        assert labels(value) == title


# ---------------------------------------------------------------- the new filters

CLINICAL_FILTERS = [
    ({"presentation": "ulcer"}, lambda s: any(x.presentation == "ulcer" for x in s.lesions)),
    (
        {"misdiagnosis": "benign_lesion,infection"},
        lambda s: any(x.misdiagnosis in ("benign_lesion", "infection") for x in s.lesions),
    ),
    ({"modality": "surgery"}, lambda s: any(t.modality == "surgery" for t in s.treatments)),
    ({"response": "PD"}, lambda s: any(t.response == "PD" for t in s.treatments)),
    ({"vital_status": "dead"}, lambda s: s.vital_status == "dead"),
    (
        {"diagnostic_sequence": "metastasis_first"},
        lambda s: s.diagnostic_sequence == "metastasis_first",
    ),
    (
        {"vital_status": "alive", "site": "C44.4", "presentation": "nodule"},
        lambda s: (
            s.vital_status == "alive"
            and any(x.site == "C44.4" for x in s.lesions)
            and any(x.presentation == "nodule" for x in s.lesions)
        ),
    ),
]


@pytest.mark.postgres
@given(
    cases=st.lists(clinical_specs, max_size=8),
    chosen=st.sampled_from(CLINICAL_FILTERS),
    dimension=st.sampled_from([Dimension.SITE, Dimension.MISDIAGNOSIS, Dimension.SEX]),
)
@CLINICAL_SETTINGS
def test_the_clinical_filters_select_what_a_python_recount_selects(
    curator, cases, chosen, dimension
):
    query, keep = chosen
    client = client_for(curator)
    with rolled_back():
        create_clinical_cases(cases)
        kept = [spec for spec in cases if keep(spec)]
        # Site counts read the counted metastases; the others the joined tables.
        sites = get(client, "", group_by="code", **query)
        assert sites["total"]["cases"] == len(kept)
        assert rows_of(sites) == recount(kept, Dimension.SITE)
        body = get(client, "counts/", by=dimension.value, **query)
        assert rows_of(body) == recount(kept, dimension)
        listed = client.get("/api/v1/cases/", {**query, "page_size": 100}).json()
        assert len(listed["results"]) == len(kept)


def test_analysts_may_filter_by_the_clinical_attributes(analyst, db):
    client = client_for(analyst)
    for query in (dict(q) for q, _ in CLINICAL_FILTERS):
        if any("," in value for value in query.values()):  # a list is a union: curators only
            listed = client.get(STATS + "counts/", {"by": "sex", **query})
            assert listed.status_code == 400
            continue
        body = get(client, "counts/", by="sex", **query)
        assert body["filters"] == {name: value.split(",") for name, value in query.items()}
    response = client.get(STATS + "counts/", {"by": "sex", "presentation": "lump"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "presentation"
