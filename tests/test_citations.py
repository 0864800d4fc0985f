"""Citations read from stored PubMed XML, MEDLINE and Crossref records; duplicates caught."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import given
from hypothesis import strategies as st

from registry.citations import (
    FetchingDisabled,
    fetch_record,
    normalise_doi,
    normalise_pmid,
    read_record,
    record_url,
)
from registry.models import Citation, CitationFormat
from registry.services.literature import citation_store
from tests.atlas_helpers import DATA, FOUNDING_DOI, FOUNDING_RECORD

PUBMED = DATA / "pubmed_27797938.xml"
MEDLINE = DATA / "medline_27797938.txt"
TITLE = (
    "Leucocyte telomere length, genetic variants at the TERT gene region and risk of "
    "pancreatic cancer."
)


def test_pubmed_xml_gives_title_journal_year_authors_and_both_identifiers():
    record = read_record(PUBMED.read_bytes())
    assert record.title == TITLE  # the <i> markup inside the title is dropped
    assert (record.journal, record.year) == ("Gut", 2017)
    assert record.authors == ["Bao Y", "Prescott J", "Yuan C"]
    assert (record.pmid, record.doi) == ("27797938", "10.1136/gutjnl-2016-312510")
    assert any("Dana-Farber" in place for place in record.affiliations)
    assert record.record_format == CitationFormat.PUBMED_XML


def test_medline_text_of_the_same_report_gives_the_same_citation():
    medline, pubmed = read_record(MEDLINE.read_bytes()), read_record(PUBMED.read_bytes())
    assert (medline.title, medline.journal, medline.year) == (TITLE, "Gut", 2017)
    assert (medline.pmid, medline.doi) == (pubmed.pmid, pubmed.doi)


def test_crossref_json_gives_the_founding_reports_synthetic_citation():
    record = read_record(FOUNDING_RECORD.read_bytes())
    assert record.doi == FOUNDING_DOI
    assert record.pmid == ""
    assert record.year == 2020
    assert record.authors == ["Example A", "Placeholder B"]
    assert record.affiliations == ["Hospital A, Department of Dermatology"]
    assert "<jats:p>" not in record.abstract


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello",
        b"{}",
        b'{"message": {"title": ["no DOI"]}}',
        b"<html><body>Not found</body></html>",
        b"<?xml version='1.0'?><PubmedArticleSet></PubmedArticleSet>",
        b"PMID- \nTI  - no id",
        b"{" + b" " * 2_000_001 + b"}",
    ],
)
def test_a_file_that_is_not_a_record_is_a_validation_error_never_a_crash(data):
    with pytest.raises(ValidationError):
        read_record(data)


@pytest.mark.django_db
def test_one_report_is_recorded_once_whatever_the_spelling_of_its_doi():
    citation_store(record=read_record(PUBMED.read_bytes()))
    for again in (PUBMED, MEDLINE):
        with pytest.raises(ValidationError, match="already recorded"):
            citation_store(record=read_record(again.read_bytes()))
    shouting = read_record(FOUNDING_RECORD.read_bytes().replace(b"10.5555/RMR", b"10.5555/rmr"))
    citation_store(record=shouting)
    with pytest.raises(ValidationError, match="already recorded"):
        citation_store(record=read_record(FOUNDING_RECORD.read_bytes()))
    assert Citation.objects.count() == 2


@pytest.mark.parametrize(
    "text, doi",
    [
        ("10.5555/RMR.1", "10.5555/rmr.1"),
        ("https://doi.org/10.5555/x", "10.5555/x"),
        ("doi:10.5555/x ", "10.5555/x"),
        ("", ""),
    ],
)
def test_a_doi_is_stored_without_resolver_and_case_folded(text, doi):
    assert normalise_doi(text) == doi


@pytest.mark.parametrize("text", ["11.1/x", "10.1/", "10.12/a b", "doi"])
def test_text_that_is_not_a_doi_is_refused(text):
    with pytest.raises(ValueError):
        normalise_doi(text)


@given(st.text(max_size=30))
def test_normalising_an_identifier_twice_changes_nothing(text):
    for normalise in (normalise_doi, normalise_pmid):
        try:
            once = normalise(text)
        except ValueError:
            continue
        assert normalise(once) == once


def test_fetching_is_off_by_default_and_says_to_upload_instead(settings):
    settings.REGISTRY_CITATION_FETCH = False
    with pytest.raises(FetchingDisabled, match="upload"):
        fetch_record(pmid="27797938")


# ---------------------------------------------------------------- the admin


@pytest.mark.django_db
def test_a_curator_adds_the_founding_report_by_its_doi_and_record_file(curator_in_admin):
    response = curator_in_admin.post(
        "/admin/registry/citation/add/",
        {
            "identifier": "https://doi.org/10.5555/RMR.FOUNDING.0001",
            "record": SimpleUploadedFile("work.json", FOUNDING_RECORD.read_bytes()),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    citation = Citation.objects.get()
    assert citation.doi == FOUNDING_DOI
    assert citation.title.startswith("SYNTHETIC TEST RECORD")
    again = curator_in_admin.post(
        "/admin/registry/citation/add/",
        {
            "identifier": FOUNDING_DOI,
            "record": SimpleUploadedFile("w.json", FOUNDING_RECORD.read_bytes()),
        },
    )
    assert again.status_code == 200
    assert "already recorded" in again.content.decode()
    assert Citation.objects.count() == 1


@pytest.mark.django_db
def test_the_admin_refuses_a_record_of_another_report_and_a_missing_file(
    curator_in_admin, settings
):
    settings.REGISTRY_CITATION_FETCH = False
    other = curator_in_admin.post(
        "/admin/registry/citation/add/",
        {"identifier": "27797939", "record": SimpleUploadedFile("p.xml", PUBMED.read_bytes())},
    )
    assert "not 27797939" in other.content.decode()
    missing = curator_in_admin.post("/admin/registry/citation/add/", {"identifier": "27797938"})
    assert "upload" in missing.content.decode()
    assert not Citation.objects.exists()


def test_records_are_fetched_from_pubmed_by_pmid_and_crossref_by_doi():
    assert record_url(pmid="27797938") == (
        "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/efetch.fcgi?db=pubmed&id=27797938&retmode=xml"
    )
    assert record_url(doi="10.5555/a b") == "https://api.crossref.org/works/10.5555/a%20b"
