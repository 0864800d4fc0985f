"""Manage submitting institutions from the command line: create, list, deactivate.

The admin does the same; this is for set-up scripts and a first run, so that the
README's `issue_token --institution CODE` has an institution to name.
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Count

from registry.models import Institution


class Command(BaseCommand):
    help = "Create, list, deactivate or reactivate submitting institutions."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        create = actions.add_parser("create", help="Add an institution (or update its name).")
        create.add_argument("code", help="Short stable key: letters, digits, - and _, e.g. hosp-a")
        create.add_argument("--name", required=True, help="Display name, e.g. 'Hospital A'.")
        create.add_argument("--country", default="", help="ISO 3166-1 alpha-2 code, e.g. FR.")
        actions.add_parser("list", help="Every institution with its status and case count.")
        for verb in ("deactivate", "activate"):
            action = actions.add_parser(verb, help=f"{verb.capitalize()} an institution.")
            action.add_argument("code")

    @transaction.atomic
    def handle(self, *args, action, **options):
        if action == "create":
            self._create(options["code"], options["name"], options["country"])
        elif action == "list":
            self._list()
        else:
            self._set_active(options["code"], active=action == "activate")

    def _create(self, code: str, name: str, country: str) -> None:
        institution = Institution.objects.filter(code=code).first()
        created = institution is None
        institution = institution or Institution(code=code)
        institution.name, institution.country = name, country.upper()
        try:
            institution.full_clean()
        except ValidationError as invalid:
            problems = "; ".join(f"{f}: {' '.join(m)}" for f, m in invalid.message_dict.items())
            raise CommandError(problems) from invalid
        institution.save()
        verb = "created" if created else "updated"
        self.stdout.write(f"{institution.code}: {verb} ({institution.name})")

    def _list(self) -> None:
        rows = Institution.objects.annotate(case_count=Count("cases")).order_by("code")
        if not rows:
            self.stdout.write("No institutions yet: manage.py institution create CODE --name NAME")
            return
        for row in rows:
            status = "active" if row.is_active else "inactive"
            country = row.country or "--"
            self.stdout.write(
                f"{row.code:<24} {country}  {status:<8}  {row.case_count:>7} cases  {row.name}"
            )

    def _set_active(self, code: str, *, active: bool) -> None:
        institution = Institution.objects.filter(code=code).first()
        if institution is None:
            known = ", ".join(Institution.objects.values_list("code", flat=True)) or "none"
            raise CommandError(f"Unknown institution '{code}' (known: {known}).")
        institution.is_active = active
        institution.save(update_fields=["is_active"])
        self.stdout.write(f"{institution.code}: {'active' if active else 'inactive'}")
