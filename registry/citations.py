"""Reading a case report's citation from its bibliographic record, never typing it.

Three record formats, each read by an established reader: PubMed XML (EFetch,
`retmode=xml`) by Biopython's `Bio.Entrez.read`, validated against NCBI's DTDs
that Biopython ships; MEDLINE text by `Bio.Medline`; Crossref's REST answer
(`/works/{doi}`) as JSON. Each gives a `CitationRecord`: the title, journal,
year, authors and their institutions (which record linkage compares with a
hospital's name), and the DOI and PMID, normalised so that one report has one
key (`normalise_doi`, `normalise_pmid`).

Fetching (`fetch_record`) happens only where the server may reach PubMed and
Crossref (`REGISTRY_CITATION_FETCH`, default off: hospitals run air-gapped);
elsewhere a curator uploads the record file in the admin.
"""

import io
import json
import re
import urllib.parse
import urllib.request
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.html import strip_tags

from registry.models import CitationFormat

_DOI = re.compile(r"^10\.\d{4,9}/\S+$")
_DOI_PREFIXES = ("https://doi.org/", "http://doi.org/", "https://dx.doi.org/", "doi:")
_PMID = re.compile(r"^[1-9][0-9]{0,11}$")
# Records larger than this are not bibliographic records of one report.
MAX_RECORD_BYTES = 2_000_000
FETCH_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class CitationRecord:
    title: str
    journal: str
    year: int | None
    authors: list[str]
    affiliations: list[str]
    doi: str = ""
    pmid: str = ""
    abstract: str = ""
    record_format: str = ""


def normalise_doi(text: str) -> str:
    """A DOI as stored: without resolver prefix, case-folded (DOIs ignore case); '' if none.

    ValueError for text that is not a DOI.
    """
    doi = (text or "").strip()
    for prefix in _DOI_PREFIXES:
        if doi.lower().startswith(prefix):
            doi = doi[len(prefix) :]
    doi = doi.strip().lower()
    if doi and not _DOI.match(doi):
        raise ValueError(f"'{text}' is not a DOI (10.<registrant>/<suffix>).")
    return doi


def normalise_pmid(text: str) -> str:
    """A PMID as stored: its digits; '' if none. ValueError for anything else."""
    pmid = (text or "").strip()
    if pmid.lower().startswith("pmid:"):
        pmid = pmid[5:].strip()
    if pmid and not _PMID.match(pmid):
        raise ValueError(f"'{text}' is not a PMID (digits).")
    return pmid


def _unique(values) -> list[str]:
    return list(dict.fromkeys(value.strip() for value in values if value and value.strip()))


# ---------------------------------------------------------------- PubMed XML


def read_pubmed_xml(data: bytes) -> CitationRecord:
    """The first article of a PubMed EFetch XML answer."""
    from Bio import Entrez  # loaded when a record is read, not with every admin page

    try:
        parsed = Entrez.read(io.BytesIO(data), validate=True)
    except Exception as error:  # Biopython raises several parser errors; all mean "not PubMed"
        raise ValidationError({"record": [f"Not a PubMed XML record: {error}"]}) from None
    articles = parsed.get("PubmedArticle", []) if hasattr(parsed, "get") else []
    if not articles:
        raise ValidationError({"record": ["The PubMed XML holds no article."]})
    citation = articles[0]["MedlineCitation"]
    article = citation["Article"]
    ids = {str(item.attributes.get("IdType")): str(item) for item in
           articles[0].get("PubmedData", {}).get("ArticleIdList", [])}  # fmt: skip
    doi = ids.get("doi", "")
    for location in article.get("ELocationID", []):
        if location.attributes.get("EIdType") == "doi":
            doi = doi or str(location)
    authors, affiliations = [], []
    for author in article.get("AuthorList", []):
        if "LastName" in author:
            authors.append(f"{author['LastName']} {author.get('Initials', '')}".strip())
        elif "CollectiveName" in author:
            authors.append(str(author["CollectiveName"]))
        affiliations += [str(info["Affiliation"]) for info in author.get("AffiliationInfo", [])]
    issue = article["Journal"].get("JournalIssue", {})
    date = issue.get("PubDate", {})
    year = date.get("Year") or str(date.get("MedlineDate", ""))[:4]
    abstract = " ".join(str(part) for part in article.get("Abstract", {}).get("AbstractText", []))
    return CitationRecord(
        title=strip_tags(str(article.get("ArticleTitle", ""))).strip(),
        journal=str(article["Journal"].get("Title", "")),
        year=int(year) if str(year).isdigit() else None,
        authors=authors,
        affiliations=_unique(affiliations),
        doi=normalise_doi(doi),
        pmid=normalise_pmid(str(citation["PMID"])),
        abstract=strip_tags(abstract),
        record_format=CitationFormat.PUBMED_XML,
    )


# ---------------------------------------------------------------- MEDLINE text


def read_medline(text: str) -> CitationRecord:
    """The first record of a MEDLINE (PubMed "nbib"/"txt") export."""
    from Bio import Medline  # as above

    record = next(iter(Medline.parse(io.StringIO(text))), None)
    if not record or not str(record.get("PMID", "")).strip():
        raise ValidationError({"record": ["Not a MEDLINE record (no PMID- line)."]})
    doi = next(
        (entry.split(" ")[0] for entry in [*record.get("AID", []), record.get("LID", "")]
         if entry.endswith("[doi]")),
        "",
    )  # fmt: skip
    year = str(record.get("DP", ""))[:4]
    return CitationRecord(
        title=record.get("TI", "").strip(),
        journal=record.get("JT") or record.get("TA", ""),
        year=int(year) if year.isdigit() else None,
        authors=list(record.get("AU", [])),
        affiliations=_unique(record.get("AD", [])),
        doi=normalise_doi(doi),
        pmid=normalise_pmid(record["PMID"]),
        abstract=record.get("AB", ""),
        record_format=CitationFormat.MEDLINE,
    )


# ---------------------------------------------------------------- Crossref JSON


def read_crossref(data: bytes | str) -> CitationRecord:
    """A Crossref `/works/{doi}` answer, or its `message` alone."""
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise ValidationError({"record": ["Not a Crossref JSON record."]}) from None
    work = document.get("message", document) if isinstance(document, dict) else None
    if not isinstance(work, dict) or not work.get("DOI"):
        raise ValidationError({"record": ["The Crossref record has no DOI."]})
    parts = (work.get("issued") or work.get("published-print") or {}).get("date-parts") or [[]]
    year = parts[0][0] if parts and parts[0] else None
    authors, affiliations = [], []
    for author in work.get("author", []):
        name = " ".join(filter(None, [author.get("family"), author.get("given", "")[:1]]))
        authors.append(name or author.get("name", ""))
        affiliations += [place.get("name", "") for place in author.get("affiliation", [])]
    return CitationRecord(
        title=" ".join(work.get("title") or []).strip(),
        journal=" ".join(work.get("container-title") or []).strip(),
        year=year if isinstance(year, int) else None,
        authors=[name for name in authors if name],
        affiliations=_unique(affiliations),
        doi=normalise_doi(work["DOI"]),
        abstract=strip_tags(work.get("abstract", "")).strip(),
        record_format=CitationFormat.CROSSREF,
    )


def read_record(data: bytes) -> CitationRecord:
    """Any of the three formats, recognised by its first characters."""
    if len(data) > MAX_RECORD_BYTES:
        raise ValidationError({"record": ["A bibliographic record is smaller than 2 MB."]})
    head = data.lstrip()[:200]
    if head.startswith(b"{"):
        return read_crossref(data)
    if head.startswith(b"<"):
        return read_pubmed_xml(data)
    if head.startswith(b"PMID-"):
        return read_medline(data.decode("utf-8", errors="replace"))
    raise ValidationError(
        {"record": ["Upload a PubMed XML, MEDLINE text or Crossref JSON record."]}
    )


# ---------------------------------------------------------------- fetching


class FetchingDisabled(Exception):
    """This server may not reach PubMed or Crossref (REGISTRY_CITATION_FETCH is off)."""


def record_url(*, doi: str = "", pmid: str = "") -> str:
    """Where the record of a DOI (Crossref) or PMID (PubMed EFetch, XML) is read."""
    if pmid:
        query = urllib.parse.urlencode({"db": "pubmed", "id": pmid, "retmode": "xml"})
        return f"https://eutils.ncbi.nlm.nih.gov/entrez/eutils/efetch.fcgi?{query}"
    return f"https://api.crossref.org/works/{urllib.parse.quote(doi, safe='/')}"


def fetch_record(*, doi: str = "", pmid: str = "") -> CitationRecord:
    """Fetch and read the record of a PMID (preferred: PubMed has affiliations) or DOI."""
    if not settings.REGISTRY_CITATION_FETCH:
        raise FetchingDisabled(
            "This server does not fetch citations (REGISTRY_CITATION_FETCH is off); "
            "upload the PubMed XML, MEDLINE or Crossref JSON record instead."
        )
    request = urllib.request.Request(
        record_url(doi=doi, pmid=pmid), headers={"User-Agent": "rare-metastasis-registry"}
    )
    with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_SECONDS) as answer:
        return read_record(answer.read(MAX_RECORD_BYTES + 1))
