"""The founding case's journey through a client generated from the served schema.

openapi-python-client (pinned in requirements-dev.txt) generates a typed Python
client from `/api/schema/` of a live server, and the journey runs through it
with no hand-written HTTP: submit, read back, upsert by local id, batch,
statistics as JSON and as CSV, FHIR import and export, and each error the
README documents that a client can provoke. If the schema says one thing and
the server sends another, the generated parsers fail here.
"""

import copy
import importlib
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from django.conf import settings

from registry.models import Institution, Role
from registry.services.tokens import token_issue
from tests.factories import UserFactory, load_vocabularies

EXAMPLES = Path(settings.BASE_DIR) / "examples"
FHIR_SEEDS = Path(settings.BASE_DIR) / "seeds" / "fhir"
GENERATOR = Path(sys.executable).parent / "openapi-python-client"
PACKAGE = "registry_client"
GENERATED_INTO = ("--output-path", PACKAGE, "--overwrite")

TEXT_FORMATS = {"application/x-yaml": "text/plain", "application/x-bibtex": "text/plain"}

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.usefixtures("vocabularies_back_afterwards"),
]


def without_provenance(csv_text: str) -> str:
    """A statistics CSV from its header on: after its `# …` provenance lines."""
    return "\n".join(line for line in csv_text.splitlines() if not line.startswith("#"))


def example(name: str) -> dict:
    return json.loads((EXAMPLES / name).read_text())


def generate_client(base_url: str, where: Path):
    """Generates the client from the served schema into `where` and imports it."""
    schema = httpx.get(f"{base_url}/api/schema/", params={"format": "json"}, timeout=30)
    assert schema.status_code == 200
    (where / "schema.json").write_bytes(schema.content)
    environment = {**os.environ, "PATH": f"{GENERATOR.parent}{os.pathsep}{os.environ['PATH']}"}
    # A release's citation is text in a citation format (CITATION.cff, BibTeX): the
    # generator's documented override reads those media types as text, as a client should.
    (where / "config.json").write_text(json.dumps({"content_type_overrides": TEXT_FORMATS}))
    generated = subprocess.run(
        [
            *(GENERATOR, "generate", "--path", "schema.json", "--meta", "none"),
            *("--config", "config.json"),
            *GENERATED_INTO,
        ],
        cwd=where,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = generated.stdout + generated.stderr
    assert generated.returncode == 0, output
    # Anything the generator could not type would be a gap in the schema.
    assert "Warning" not in output, output
    sys.path.insert(0, str(where))
    try:
        return importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(where))


def forget_client() -> None:
    for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
        del sys.modules[name]


def api(name: str):
    """An operation module of the generated client, e.g. api('v1.v1_cases_create')."""
    return importlib.import_module(f"{PACKAGE}.api.{name}")


def model(name: str):
    return getattr(importlib.import_module(f"{PACKAGE}.models"), name)


@pytest.mark.django_db(transaction=True)
def test_the_founding_case_journey_through_a_generated_client(live_server, tmp_path):
    load_vocabularies()  # an earlier transactional test's flush may have emptied them
    hospital = Institution.objects.create(code="hosp-a", name="Hospital A", country="FR")
    Institution.objects.create(code="hosp-b", name="Hospital B", country="DE")
    tokens = {
        role: token_issue(user=user, name="client journey")[1]
        for role, user in {
            "submitter": UserFactory(
                username="hosp-a-system", role=Role.SUBMITTER, institution=hospital
            ),
            "curator": UserFactory(username="curator", role=Role.CURATOR, institution=None),
        }.items()
    }
    generated = generate_client(live_server.url, tmp_path)
    try:
        hospital_system = generated.AuthenticatedClient(
            base_url=live_server.url, token=tokens["submitter"], raise_on_unexpected_status=True
        )
        curator = generated.AuthenticatedClient(
            base_url=live_server.url, token=tokens["curator"], raise_on_unexpected_status=True
        )
        anonymous = generated.Client(base_url=live_server.url, raise_on_unexpected_status=True)
        journey(hospital_system, curator, anonymous)
    finally:
        forget_client()


def journey(hospital_system, curator, anonymous) -> None:
    Case, Problem = model("Case"), model("Problem")

    # ------------------------------------------------------------ submit and read back
    founding = model("CaseRequest").from_dict(example("case.json"))
    key = str(uuid.uuid4())
    submitted = api("v1.v1_cases_create").sync_detailed(
        client=hospital_system, body=founding, idempotency_key=key
    )
    assert submitted.status_code == 201
    case = submitted.parsed
    assert isinstance(case, Case)
    assert (case.local_id, case.institution, case.version) == ("hosp-a-000123", "hosp-a", 1)
    assert case.metastases[0].site == "C44.4"
    assert [c.value for c in case.metastases[0].confirmed_by] == ["histology"]
    assert submitted.headers["etag"] == '"v1"'

    replayed = api("v1.v1_cases_create").sync_detailed(
        client=hospital_system, body=founding, idempotency_key=key
    )
    assert replayed.status_code == 201
    assert replayed.headers["idempotent-replayed"] == "true"
    assert replayed.parsed.uuid == case.uuid

    read = api("v1.v1_cases_retrieve").sync(client=hospital_system, uuid=case.uuid)
    assert read.to_dict() == case.to_dict()
    listed = api("v1.v1_cases_list").sync(
        client=hospital_system, site=["C44.4"], sex=[model("SexEnum")("female")]
    )
    assert [row.uuid for row in listed.results] == [case.uuid]
    # Closed value sets are enums, the loaded subtypes included.
    assert "triple_negative" in {subtype.value for subtype in model("SubtypeEnum")}
    assert case.subtype is None

    # ------------------------------------------------------------ upsert by local id
    upsert = api("v1.v1_cases_by_local_id_update")
    without_local_id = model("CaseReplaceRequest").from_dict(example("case-without-local-id.json"))
    created = upsert.sync_detailed(
        client=hospital_system, local_id="hosp-a-000124", body=without_local_id
    )
    assert created.status_code == 201
    assert created.parsed.local_id == "hosp-a-000124"
    again = upsert.sync_detailed(
        client=hospital_system, local_id="hosp-a-000124", body=without_local_id
    )
    assert (again.status_code, again.parsed.version) == (200, 1)
    changed = upsert.sync_detailed(
        client=hospital_system,
        local_id="hosp-a-000124",
        body=model("CaseReplaceRequest").from_dict(example("case-update.json")),
    )
    assert (changed.status_code, changed.parsed.version) == (200, 2)
    assert changed.parsed.vital_status.value == "alive"
    by_key = api("v1.v1_cases_by_local_id_retrieve").sync(
        client=hospital_system, local_id="hosp-a-000124"
    )
    assert by_key.version == 2

    # ------------------------------------------------------------ batch
    batch = api("v1.v1_cases_batch_create").sync(
        client=hospital_system,
        body=model("CaseBatchRequest").from_dict(example("batch.json")),
        idempotency_key=str(uuid.uuid4()),
    )
    assert batch.summary.to_dict() == {"created": 1, "updated": 0, "unchanged": 1, "error": 3}
    assert [item.result.value for item in batch.results] == [
        "unchanged",
        "created",
        "error",
        "error",
        "error",
    ]
    assert batch.results[2].errors[0].field == "metastases[0].site"

    # ------------------------------------------------------------ statistics, JSON and CSV
    sites = api("v1.v1_stats_retrieve").sync(
        client=curator, group_by=model("V1StatsRetrieveGroupBy")("code")
    )
    assert isinstance(sites, model("SiteCounts"))
    by_code = {row.key: row.cases for row in sites.rows}
    assert by_code["C44.4"] == 3  # hosp-a-000123, -000124 and -000126
    csv_text = api("v1.v1_stats_sites_csv").sync(
        client=curator, group_by=model("V1StatsSitesCsvGroupBy")("code")
    )
    table = [line for line in csv_text.splitlines() if not line.startswith("#")]
    assert csv_text.startswith("# registry:")  # the provenance lines come first
    assert table[0] == "key,label,cases,metastases,suppressed"
    assert any(line.startswith("C44.4,") for line in csv_text.splitlines())

    counts = api("v1.v1_stats_counts_retrieve").sync(
        client=curator, by=model("V1StatsCountsRetrieveBy")("sex")
    )
    assert {row.key: row.cases for row in counts.rows}["female"] == 3
    counts_csv = api("v1.v1_stats_counts_csv").sync(
        client=curator, by=model("V1StatsCountsCsvBy")("sex")
    )
    assert without_provenance(counts_csv).startswith("key,label,cases,suppressed")

    crosstab = api("v1.v1_stats_crosstab_retrieve").sync(
        client=curator,
        rows=model("V1StatsCrosstabRetrieveRows")("site_group"),
        cols=model("V1StatsCrosstabRetrieveCols")("subtype"),
    )
    assert crosstab.total.cases == 3
    crosstab_csv = api("v1.v1_stats_crosstab_csv").sync(
        client=curator,
        rows=model("V1StatsCrosstabCsvRows")("site_group"),
        cols=model("V1StatsCrosstabCsvCols")("subtype"),
    )
    assert without_provenance(crosstab_csv).startswith(
        "row_key,row_label,col_key,col_label,cases,suppressed"
    )

    intervals = api("v1.v1_stats_intervals_retrieve").sync(client=curator)
    assert isinstance(intervals, model("Intervals"))
    intervals_csv = api("v1.v1_stats_intervals_csv").sync(client=curator)
    assert without_provenance(intervals_csv).startswith("key,label,cases,metastases,median")

    # ------------------------------------------------------------ FHIR import and export
    bundle = json.loads((FHIR_SEEDS / "founding_case_bundle.json").read_text())
    imported = api("fhir.fhir_bundle_import").sync_detailed(
        client=hospital_system, body=model("FhirBundleImportBody").from_dict(bundle)
    )
    assert imported.status_code == 201
    outcome = imported.parsed
    assert isinstance(outcome, model("OperationOutcome"))
    assert outcome.issue[0].details.coding[0].code == "created"
    case_uuid = imported.headers["location"].rstrip("/").rsplit("/", 1)[1]
    exported = api("fhir.fhir_bundle_export").sync(client=hospital_system, case_uuid=case_uuid)
    assert exported["resourceType"] == "Bundle"
    reimported = api("fhir.fhir_bundle_import").sync_detailed(
        client=hospital_system, body=model("FhirBundleImportBody").from_dict(exported.to_dict())
    )
    assert reimported.status_code == 200
    assert reimported.parsed.issue[0].details.coding[0].code == "unchanged"

    # ------------------------------------------------------------ every documented error
    def problem(answer, status: int, code: str | None = None):
        assert answer.status_code == status, answer.content
        assert isinstance(answer.parsed, Problem), answer.parsed
        assert answer.parsed.status == status
        if code is not None:
            assert answer.parsed.code == code
        return answer.parsed

    invalid = problem(
        api("v1.v1_cases_create").sync_detailed(
            client=hospital_system,
            body=model("CaseRequest").from_dict(example("invalid-case.json")),
        ),
        400,
        "invalid",
    )
    assert {error.field for error in invalid.errors} >= {
        "metastases[0].site",
        "metastases[0].misdiagnosis_text",
    }
    problem(
        api("v1.v1_cases_create").sync_detailed(
            client=hospital_system,
            body=model("CaseRequest").from_dict(example("another-case.json")),
            idempotency_key=key,  # the founding case's key, another body
        ),
        422,
        "idempotency_key_reused",
    )
    problem(api("v1.v1_cases_list").sync_detailed(client=anonymous), 401, "not_authenticated")
    problem(api("v1.v1_stats_retrieve").sync_detailed(client=hospital_system), 403)
    problem(
        api("v1.v1_cases_retrieve").sync_detailed(client=hospital_system, uuid=uuid.uuid4()),
        404,
        "not_found",
    )
    problem(
        upsert.sync_detailed(
            client=hospital_system, local_id="hosp-a-000124", body=without_local_id, if_match='"v1"'
        ),
        412,
        "stale_version",
    )
    too_many = copy.deepcopy(example("case.json"))
    oversized = {"cases": [{**too_many, "local_id": f"bulk-{n:04}"} for n in range(1001)]}
    problem(
        api("v1.v1_cases_batch_create").sync_detailed(
            client=hospital_system, body=model("CaseBatchRequest").from_dict(oversized)
        ),
        413,
        "batch_too_large",
    )

    # FHIR: a Bundle's problems are OperationOutcomes, one shape per status.
    OperationOutcome = model("OperationOutcome")
    unmapped = api("fhir.fhir_bundle_import").sync_detailed(
        client=hospital_system,
        body=model("FhirBundleImportBody").from_dict(example("bundle-unmapped-site.json")),
    )
    assert unmapped.status_code == 422
    assert isinstance(unmapped.parsed, OperationOutcome)
    assert unmapped.parsed.issue[0].code == "code-invalid"
    not_a_bundle = api("fhir.fhir_bundle_import").sync_detailed(
        client=hospital_system,
        body=model("FhirBundleImportBody").from_dict({"resourceType": "Patient"}),
    )
    assert not_a_bundle.status_code == 400
    assert isinstance(not_a_bundle.parsed, OperationOutcome)
    too_deep: dict = {"resourceType": "Bundle", "type": "collection"}
    inner = too_deep
    for _ in range(80):
        inner["extension"] = [{}]
        inner = inner["extension"][0]
    refused_by_guard = api("fhir.fhir_bundle_import").sync_detailed(
        client=hospital_system, body=model("FhirBundleImportBody").from_dict(too_deep)
    )
    assert refused_by_guard.status_code == 400
    assert isinstance(refused_by_guard.parsed, OperationOutcome)
    assert refused_by_guard.headers["content-type"] == "application/fhir+json"
