"""Run by tests/test_releases.py in a fresh interpreter on a SQLite file (`make run`'s default).

Makes a release of the founding case, adds and verifies a second case, then
prints what a curator counts live and in the release, and what the same
release answers as CSV twice, as one JSON line.
"""

import io
import json
import sys
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a file: the repository

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from registry.models import Institution, Role, User  # noqa: E402
from registry.services.cases import case_create, case_review  # noqa: E402
from registry.services.releases import release_create  # noqa: E402

quiet = io.StringIO()
call_command("migrate", verbosity=0, stdout=quiet)
call_command("load_vocabularies", stdout=quiet)
call_command("load_cases", str(settings.BASE_DIR / "seeds/cases/founding_case.json"), stdout=quiet)
release = release_create(name="2026.1")

payload = json.loads((settings.BASE_DIR / "seeds/cases/founding_case.json").read_text())["cases"][0]
payload.pop("local_id")
case = case_create(
    institution=Institution.objects.first(), local_id="later-1", payload=payload, actor=None
)
case_review(case=case, status="verified", actor=None)

curator = User.objects.create(username="sqlite-curator", role=Role.CURATOR, is_staff=True)
client = APIClient()
client.force_authenticate(curator)
live = client.get("/api/v1/stats/", {"status": "verified"}).json()
frozen = client.get("/api/v1/stats/", {"release": "2026.1"}).json()
csv_twice = [
    client.get("/api/v1/stats/sites.csv", {"release": "2026.1"}).content.decode() for _ in range(2)
]
print(
    json.dumps(
        {
            "live": live["total"]["cases"],
            "release": frozen["total"]["cases"],
            "named": frozen["release"],
            "cases_in_release": release.cases,
            "csv_same": csv_twice[0] == csv_twice[1],
            "csv": csv_twice[0],
        }
    )
)
