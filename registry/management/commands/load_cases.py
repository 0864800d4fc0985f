"""Load cases from a JSON seed file (the founding case ships in seeds/cases/).

Idempotent: a case whose `local_id` the institution already has is updated
(or left alone when nothing changed), so `make run` can load it every time.
"""

import json
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from registry.case_keys import local_id_key
from registry.models import Case, Institution
from registry.services.cases import case_create, case_review, case_update


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

    def _load_case(self, institution, local_id, payload, status):
        stored = Case.objects.filter(
            institution=institution, local_id_key=local_id_key(local_id)
        ).first()
        if stored is None:
            case = case_create(
                institution=institution, local_id=local_id, payload=payload, actor=None
            )
            outcome = "created"
        else:
            write = case_update(case=stored, payload=payload, actor=None)
            case, outcome = write.case, write.outcome.value
        if status and case.status != status:
            case_review(case=case, status=status, actor=None)
        self.stdout.write(f"{institution.code}/{local_id}: {outcome} ({case.uuid})")
