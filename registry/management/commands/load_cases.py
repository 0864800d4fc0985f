"""Load cases from a JSON seed file (the founding case ships in seeds/cases/).

Idempotent: a case whose `local_id` the institution already has is updated
(or left alone when nothing changed), so `make run` can load it every time.
"""

import json
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from registry.models import Institution
from registry.review import ReviewTransitionRefused
from registry.services.cases import case_review, case_upsert


class Command(BaseCommand):
    help = "Create or update the cases of a JSON seed file for its institution."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)

    @transaction.atomic
    def handle(self, *args, path: Path, **options):
        try:
            seed = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as problem:
            raise CommandError(f"{path}: {problem}") from problem
        fields = seed["institution"]
        institution, _ = Institution.objects.update_or_create(
            code=fields["code"], defaults={k: v for k, v in fields.items() if k != "code"}
        )
        for payload in seed["cases"]:
            local_id = payload["local_id"]
            try:
                self._load_case(institution, local_id, payload, seed.get("status"))
            except ValidationError as invalid:
                raise CommandError(f"{local_id}: {invalid.message_dict}") from invalid
            except ReviewTransitionRefused as refused:
                raise CommandError(f"{local_id}: {refused}") from refused

    def _load_case(self, institution, local_id, payload, status):
        # The same create-or-replace as `PUT cases/by-local-id/` and FHIR imports.
        write = case_upsert(institution=institution, local_id=local_id, payload=payload, actor=None)
        case = write.case
        if status:
            case = case_review(case=case, status=status, actor=None)  # nothing if already so
        self.stdout.write(f"{institution.code}/{local_id}: {write.outcome.value} ({case.uuid})")
