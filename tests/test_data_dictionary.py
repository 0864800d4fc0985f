"""Each filter is declared once (registry/data_dictionary.py), applied, and classified.

A filter declared but forgotten in the SQL would be silently ignored, widening an
answer without telling anyone: every declared filter must change a count on data
built to make it change, and say how analysts may use it.
"""

import io

import pytest
from django.core.management import call_command

from registry.case_filters import CaseFilterSet
from registry.data_dictionary import FILTERS, FILTERS_BY_NAME, AnalystUse
from registry.models import Case
from registry.selectors import CaseFilters
from registry.synthetic.generator import institution_code, local_id
from tests.api_helpers import client_for
from tests.stats_helpers import STATS, get

pytestmark = pytest.mark.django_db

# A value per declared filter that selects some of the synthetic cases but not all.
VALUES = {
    "site": "C34.1",
    "site_category": "C71",
    "site_group": "Bone",
    "primary": "C50.9",
    "primary_category": "C50",
    "morphology": "8500/3",
    "subtype": "triple_negative",
    "sex": "male",
    "age_min": "60",
    "age_max": "50",
    "year_min": "2015",
    "year_max": "2010",
    "status": "verified",
    "source": "literature",
    "institution": institution_code(1),
    "q": local_id(1),
    "age_band": "50-59",
    "period": "2015-2019",
    "presentation": "nodule",
    "misdiagnosis": "benign_lesion",
    "modality": "surgery",
    "response": "PD",
    "vital_status": "dead",
    "diagnostic_sequence": "metastasis_first",
}


@pytest.fixture
def synthetic(db):
    call_command("synth", cases=600, seed=3, reset=True, stdout=io.StringIO())
    # synth makes hospital cases only: a few published case reports for `source`.
    Case.objects.filter(pk__in=Case.objects.order_by("pk").values("pk")[:5]).update(
        source="literature"
    )
    # synth leaves what was found first unknown: a few metastases that led to the primary.
    Case.objects.filter(pk__in=Case.objects.order_by("-pk").values("pk")[:5]).update(
        diagnostic_sequence="metastasis_first"
    )
    return Case.objects.count()


def test_every_declared_filter_has_a_test_value():
    assert set(VALUES) == set(FILTERS_BY_NAME)


def test_everything_is_derived_from_the_declarations():
    names = [declared.name for declared in FILTERS]
    assert list(CaseFilterSet.base_filters) == names
    assert [field for field in CaseFilters.__dataclass_fields__] == names


@pytest.mark.parametrize("name", sorted(VALUES))
def test_every_declared_filter_changes_the_answer(synthetic, curator, name):
    client = client_for(curator)
    everyone = get(client, "counts/", by="sex")["total"]["cases"]
    selected = get(client, "counts/", by="sex", **{name: VALUES[name]})["total"]["cases"]
    assert everyone == synthetic
    assert 0 < selected < everyone, f"{name}={VALUES[name]} selected {selected} of {everyone}"
    listed = client.get("/api/v1/cases/", {name: VALUES[name], "page_size": 1})
    assert listed.status_code == 200, listed.content


@pytest.mark.parametrize("declared", FILTERS, ids=lambda declared: declared.name)
def test_every_declared_filter_is_classified_for_analysts(analyst, declared):
    assert isinstance(declared.analysts, AnalystUse)
    response = client_for(analyst).get(
        STATS + "counts/", {"by": "sex", declared.name: VALUES[declared.name]}
    )
    if declared.analysts is AnalystUse.CURATORS:
        assert declared.advice
        assert response.status_code == 400
        errors = {error["field"]: error["message"] for error in response.json()["errors"]}
        assert declared.advice in errors[declared.name]
    else:
        assert response.status_code == 200, response.content
        assert declared.takes_list  # one value of a list-taking filter; lists are refused
