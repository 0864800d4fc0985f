"""`manage.py release create|list|retire`: a curator's releases from the command line.

python manage.py release create [--name 2026.4] [--notes "What changed, in words."]
python manage.py release list
python manage.py release retire 2026.3 [--successor 2026.4]
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from registry.models import Release
from registry.services.releases import release_create, release_retire


def _size(found: int | None) -> str:
    return "size unknown" if found is None else f"{found / 1e6:.1f} MB"


def describe(release: Release) -> str:
    state = (
        f"retired {release.retired_at:%Y-%m-%d}, successor {release.successor.name}"
        if release.retired
        else "available"
    )
    return (
        f"{release.name}  {state}  made {release.created_at:%Y-%m-%d %H:%M} UTC  "
        f"{release.cases} cases, {release.metastases} metastases  "
        f"{_size(release.storage_bytes)}  {release.checksum[:19]}"
    )


class Command(BaseCommand):
    help = "Create, list or retire releases: the snapshots analysts count."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="Snapshot what analysts count now.")
        create.add_argument("--name", help="e.g. 2026.4; default: this year's next number.")
        create.add_argument("--notes", default="", help="What this release is, in words.")
        actions.add_parser("list", help="Every release, newest first.")
        retire = actions.add_parser("retire", help="Drop a release's rows; it answers 410.")
        retire.add_argument("name")
        retire.add_argument("--successor", help="The release to point to; default: the newest.")

    def handle(self, *args, action: str, **options):
        try:
            if action == "create":
                release = release_create(name=options["name"], description=options["notes"])
                self.stdout.write(
                    f"Created release {release.name}: {release.cases} cases, "
                    f"{release.metastases} metastases, {_size(release.storage_bytes)}, "
                    f"in {release.seconds_to_create:.1f} s; {release.checksum}"
                )
            elif action == "retire":
                release = _named(options["name"])
                successor = _named(options["successor"]) if options["successor"] else None
                release_retire(release=release, successor=successor)
                self.stdout.write(f"Retired {release.name}; it now points to {release.successor}.")
            else:
                for release in Release.objects.select_related("successor"):
                    self.stdout.write(describe(release))
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None


def _named(name: str) -> Release:
    release = Release.objects.filter(name=name).first()
    if release is None:
        raise CommandError(f"No release named {name!r}.")
    return release
