"""Issue 24's "done when": 26 published case reports go in as a registrar codes them.

tests/data/published_patterns.json holds each report's coding and its citation. Every
case is sent through the JSON API as the submitting hospital would send it (a literature
case with its DOI/PMID where the report's identifier was confirmed, else a hospital
case), and a curator's counts then equal a recount of the file.
"""

import json
from collections import Counter
from pathlib import Path

import pytest

from registry.models import Case, ReviewStatus
from tests.api_helpers import client_for
from tests.stats_helpers import get, rows_of

pytestmark = pytest.mark.django_db

PATTERNS = json.loads(
    (Path(__file__).parent / "data" / "published_patterns.json").read_text(encoding="utf-8")
)["cases"]


def as_sent(index: int, pattern: dict) -> dict:
    citation = pattern["citation"]
    identifiers = {name: citation[name] for name in ("doi", "pmid") if name in citation}
    source = "literature" if identifiers else "hospital"
    return {
        "local_id": f"published-{index:02d}",
        "source": source,
        **identifiers,
        **pattern["case"],
    }


def test_the_set_is_26_real_reports_each_with_its_citation():
    assert len(PATTERNS) == 26
    for pattern in PATTERNS:
        citation = pattern["citation"]
        assert citation.get("doi") or citation.get("pmid") or citation.get("description")
    sequences = Counter(p["case"].get("diagnostic_sequence", "unknown") for p in PATTERNS)
    assert sequences["metastasis_first"] >= 10  # what the registry exists to show


@pytest.fixture
def submitted(submitter_a):
    client = client_for(submitter_a)
    for index, pattern in enumerate(PATTERNS):
        response = client.post("/api/v1/cases/", as_sent(index, pattern), format="json")
        assert response.status_code == 201, (pattern["citation"], response.json())
    Case.objects.update(status=ReviewStatus.VERIFIED)


def test_every_published_pattern_is_stored_as_coded(submitted):
    for index, pattern in enumerate(PATTERNS):
        coded = pattern["case"]
        case = Case.objects.get(local_id=f"published-{index:02d}")
        assert (case.primary_site_id, case.primary_morphology_id) == (
            coded["primary_site"],
            coded["primary_morphology"],
        )
        assert case.diagnostic_sequence == coded.get("diagnostic_sequence", "unknown")
        stored = [
            (m.site_id, m.laterality, m.presentation, m.confirmed_by)
            for m in case.metastases.order_by("id")
        ]
        assert stored == [
            (
                m["site"],
                m.get("laterality", "unknown"),
                m.get("presentation", "unknown"),
                m.get("confirmed_by", []),
            )
            for m in coded["metastases"]
        ]


def test_a_curators_counts_equal_a_recount_of_the_reports(curator, submitted):
    client = client_for(curator)
    sequences = Counter(p["case"].get("diagnostic_sequence", "unknown") for p in PATTERNS)
    body = get(client, "counts/", by="diagnostic_sequence")
    assert rows_of(body) == dict(sequences)
    sites = Counter(site for p in PATTERNS for site in {m["site"] for m in p["case"]["metastases"]})
    assert rows_of(get(client, "", group_by="code")) == dict(sites)
    testes = get(client, "", group_by="code", primary="C61.9", site="C62.9")
    assert testes["total"]["cases"] == sum(
        1
        for p in PATTERNS
        if p["case"]["primary_site"] == "C61.9"
        and any(m["site"] == "C62.9" for m in p["case"]["metastases"])
    )
