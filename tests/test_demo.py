"""`make demo` on the default database: synthetic cases on SQLite as on PostgreSQL.

`make run` and `make demo` serve a SQLite file unless DATABASE_URL names a
server; `manage.py synth` then writes by INSERT what it COPYs into PostgreSQL.
The same seed must give the same registry on both, and an analyst must be able
to count it.
"""

import io
import json
import os

import pytest
from django.core.management import call_command

from registry.models import Case
from tests.process_helpers import last_json_line, run_python

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
SEED = 5
CASES = 120

ON_SQLITE = f"""
import io, json, django
django.setup()
from django.core.management import call_command
from django.contrib.auth import get_user_model
from django.test import Client
from registry.models import Case, Role
from tests.test_demo import stored_cases
quiet = io.StringIO()
call_command("migrate", verbosity=0, stdout=quiet)
call_command("synth", cases={CASES}, seed={SEED}, stdout=quiet)
call_command("synth", cases={CASES}, seed={SEED}, reset=True, stdout=quiet)
analyst = get_user_model().objects.create(username="analyst", role=Role.ANALYST)
client = Client()
client.force_login(analyst)
counts = client.get("/api/v1/stats/counts/?by=sex")
history = Case.history.filter(history_change_reason="synthetic, seed {SEED}").count()
print(json.dumps({{
    "cases": stored_cases(),
    "history": history,
    "counts": [counts.status_code, counts.json()],
}}))
"""


def stored_cases() -> list:
    """The synthetic cases as JSON types, in local_id order (run on either database)."""
    return [
        [
            case.local_id,
            case.institution.code,
            case.sex,
            case.age_at_diagnosis,
            case.primary_site_id,
            case.primary_morphology_id,
            case.status,
            case.has_open_flags,
            str(case.uuid),
            sorted(
                [m.site_id, m.months_from_primary, m.confirmed_by, m.misdiagnosis_text]
                for m in case.metastases.all()
            ),
            sorted([t.modality, t.months_from_primary] for t in case.treatments.all()),
        ]
        for case in Case.objects.filter(institution__code__startswith="synth-")
        .select_related("institution")
        .prefetch_related("metastases", "treatments")
        .order_by("local_id")
    ]


def test_synth_on_sqlite_stores_what_it_copies_into_postgresql(db, tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
    }
    result = run_python("-c", ON_SQLITE, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    on_sqlite = last_json_line(result)

    call_command("synth", cases=CASES, seed=SEED, stdout=io.StringIO())
    assert on_sqlite["cases"] == json.loads(json.dumps(stored_cases()))
    assert len(on_sqlite["cases"]) == CASES
    # Every case has its '+' history row, as after COPY; the reset left no other.
    assert on_sqlite["history"] == CASES
    status, document = on_sqlite["counts"]
    assert status == 200, document
    assert document["rows"], document
