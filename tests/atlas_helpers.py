"""The founding case as a published case with its (synthetic) citation, for atlas tests."""

from pathlib import Path

from registry.citations import read_record
from registry.models import Case, ReviewStatus, Source
from registry.services.cases import case_create, case_review
from registry.services.literature import citation_store
from tests.factories import InstitutionFactory, founding_payload

DATA = Path(__file__).parent / "data" / "citations"
# Crossref-shaped and clearly synthetic: 10.5555 is the prefix Crossref keeps for examples.
FOUNDING_RECORD = DATA / "crossref_founding_case_synthetic.json"
FOUNDING_DOI = "10.5555/rmr.founding.0001"


def literature_case(local_id: str, *, curator, status=ReviewStatus.VERIFIED, **changes) -> Case:
    """A published case (source literature), reviewed to `status` by `curator`."""
    institution = InstitutionFactory(code="literature", name="Published case reports")
    payload = founding_payload(source=Source.LITERATURE, **changes)
    case = case_create(institution=institution, local_id=local_id, payload=payload, actor=curator)
    if status != case.status:
        case = case_review(case=case, status=status, actor=curator)
    return case


def founding_report(curator) -> Case:
    """The founding case, cited by the synthetic Crossref record, verified."""
    citation_store(record=read_record(FOUNDING_RECORD.read_bytes()))
    return literature_case("lit-founding", curator=curator, doi=FOUNDING_DOI)


def hospital_case(institution, submitter, curator, local_id: str = "a-0001", **changes) -> Case:
    """A hospital's verified record like the founding case (its seed says literature)."""
    payload = founding_payload(source=Source.HOSPITAL, **changes)
    case = case_create(institution=institution, local_id=local_id, payload=payload, actor=submitter)
    return case_review(case=case, status=ReviewStatus.VERIFIED, actor=curator)
