"""Demo accounts for a local run: a curator for the admin and a hospital system's token.

Idempotent: every run keeps the same accounts, gives the curator a new random
password and the hospital system a new token, and revokes the previous demo
token, so credentials printed by an earlier run stop working. The demo hospital
gets one case (the founding case under its own key), so the printed `curl`
lists something.
"""

import json
import secrets
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from registry.management.commands.issue_token import registry_account
from registry.models import Institution, Role, User
from registry.services.cases import case_upsert
from registry.services.tokens import token_issue, token_revoke

DEMO_INSTITUTION = {"code": "demo-hospital", "name": "Demo Hospital", "country": "GB"}
CURATOR = "demo-curator"
HOSPITAL_SYSTEM = "demo-hospital-system"
TOKEN_NAME = "demo token"
TOKEN_DAYS = 30
DEMO_CASE_FILE = Path(settings.BASE_DIR) / "seeds" / "cases" / "founding_case_request.json"
DEMO_CASE_LOCAL_ID = "demo-000001"


class Command(BaseCommand):
    help = "Create or refresh the demo curator and demo hospital system; print their credentials."

    def add_arguments(self, parser):
        parser.add_argument(
            "--base-url",
            default="http://127.0.0.1:8000",
            help="Where the server runs, for the printed links.",
        )

    @transaction.atomic
    def handle(self, *args, base_url, **options):
        base_url = base_url.rstrip("/")
        code = DEMO_INSTITUTION["code"]
        hospital, _ = Institution.objects.update_or_create(
            code=code, defaults={k: v for k, v in DEMO_INSTITUTION.items() if k != "code"}
        )

        curator, _ = User.objects.get_or_create(username=CURATOR, defaults={"role": Role.CURATOR})
        curator.role, curator.institution = Role.CURATOR, None
        curator.is_staff = curator.is_superuser = curator.is_active = True
        password = secrets.token_urlsafe(12)
        curator.set_password(password)
        curator.save()

        system = registry_account(
            username=HOSPITAL_SYSTEM, role=Role.SUBMITTER, institution=hospital
        )
        for old in system.api_tokens.filter(name=TOKEN_NAME, revoked_at__isnull=True):
            token_revoke(token=old)
        token, raw = token_issue(user=system, name=TOKEN_NAME, valid_days=TOKEN_DAYS)
        payload = json.loads(DEMO_CASE_FILE.read_text(encoding="utf-8"))
        payload["local_id"] = DEMO_CASE_LOCAL_ID
        demo_case = case_upsert(
            institution=hospital, local_id=DEMO_CASE_LOCAL_ID, payload=payload, actor=None
        ).case

        self.stdout.write(
            "\n".join(
                [
                    "",
                    "Demo accounts (new credentials on every run; earlier ones stop working):",
                    f"  Admin     {base_url}/admin/",
                    f"            username {CURATOR}  password {password}",
                    f"  API token for {HOSPITAL_SYSTEM} (submitter, {code}), "
                    f"expires {token.expires_at:%Y-%m-%d}:",
                    f"            {raw}",
                    f"  Case      {code}/{DEMO_CASE_LOCAL_ID} ({demo_case.uuid})",
                    f'  Try:      curl -H "Authorization: Bearer {raw}" {base_url}/api/v1/cases/',
                    "",
                ]
            )
        )
