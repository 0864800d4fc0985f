"""Load or update the coded vocabularies from `seeds/` or from licensed WHO files."""

import json
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from registry.services.vocabulary_load import (
    read_morphology,
    read_subtypes,
    read_topography,
    vocabulary_load,
)

SEEDS = Path(settings.BASE_DIR) / "seeds"


class Command(BaseCommand):
    help = (
        "Load ICD-O-3 topography and morphology and the subtypes (idempotent). "
        "By default from seeds/; --topography/--morphology take an official full list."
    )

    def add_arguments(self, parser):
        parser.add_argument("--topography", type=Path, help="Official topography list (CSV/TSV).")
        parser.add_argument("--morphology", type=Path, help="Official morphology list (CSV/TSV).")
        parser.add_argument("--source", help="Provenance of the files given (required with them).")
        parser.add_argument("--release-version", help="Version of the files given.")

    def handle(self, *args, **options):
        manifest = json.loads((SEEDS / "manifest.json").read_text())
        official = {k: options[k] for k in ("topography", "morphology") if options[k]}
        if official and not (options["source"] and options["release_version"]):
            raise CommandError("Give --source and --release-version with an official list.")
        jobs = {
            "topography": lambda f: read_topography(f[0], f[1]),
            "morphology": lambda f: read_morphology(f[0]),
            "subtypes": lambda f: read_subtypes(f[0]),
        }
        for vocabulary, read in jobs.items():
            entry = manifest[vocabulary]
            files = [SEEDS / name for name in entry["files"]]
            source, version = entry["source"], entry["version"]
            if vocabulary in official:
                # The official list brings codes and titles; site groups stay the registry's.
                files[0] = official[vocabulary]
                source, version = options["source"], options["release_version"]
            try:
                result = vocabulary_load(
                    vocabulary=vocabulary,
                    rows=read(files),
                    files=files,
                    source=source,
                    version=version,
                )
            except (ValidationError, OSError, KeyError) as problem:
                raise CommandError(f"{vocabulary}: {problem}") from problem
            self.stdout.write(str(result))
