"""List stored case keys that clash or that today's key rules refuse.

Run it before migration 0006 (which makes keys that look the same one key and
stops if two cases of an institution would share one) and at any time after.
It reads only each case's institution and `local_id`, so it works on both sides
of that migration. Nothing is changed: a curator renames or deletes cases.
Exits with status 1 when keys clash.
"""

from collections import defaultdict

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from registry.case_keys import clean_local_id, local_id_key
from registry.models import Case


class Command(BaseCommand):
    help = "List case keys that compare equal within an institution, or that the key rules refuse."

    def handle(self, *args, **options):
        groups: dict[tuple[str, str], list[tuple[int, str]]] = defaultdict(list)
        refused: list[tuple[str, int, str, list[str]]] = []
        rows = Case.objects.order_by("institution__code", "pk").values_list(
            "institution__code", "pk", "local_id"
        )
        for institution, pk, local_id in rows.iterator(chunk_size=10_000):
            groups[(institution, local_id_key(local_id))].append((pk, local_id))
            try:
                clean_local_id(local_id)
            except ValidationError as invalid:
                refused.append((institution, pk, local_id, invalid.message_dict["local_id"]))
        clashes = {key: cases for key, cases in groups.items() if len(cases) > 1}
        for (institution, _), cases in clashes.items():
            listed = ", ".join(f"case id {pk} {local_id!r}" for pk, local_id in cases)
            self.stdout.write(f"clash {institution}: {listed}")
        for institution, pk, local_id, reasons in refused:
            self.stdout.write(
                f"refused {institution}: case id {pk} {local_id!r}: {' '.join(reasons)}"
            )
        self.stdout.write(
            f"{len(clashes)} clashing group(s), {len(refused)} key(s) the rules refuse, "
            f"{sum(len(cases) for cases in groups.values())} case(s) checked."
        )
        if clashes:
            raise CommandError("Keys clash: rename or delete one case of each group listed.")
