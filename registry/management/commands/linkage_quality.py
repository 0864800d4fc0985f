"""Precision and recall of record linkage on a synthetic registry with planted duplicates.

    python manage.py linkage_quality --cases 10000 --duplicates 500 [--seed 1]

Replaces the synthetic hospitals' cases (`synth --reset`), plants duplicates
(`registry.linkage.evaluation`), scores the registry and prints precision and
recall at three thresholds. Only synthetic hospitals' cases are touched; run it
on a database of its own (docs/atlas.md).
"""

import io
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand

from registry.linkage.evaluation import measure, plant_duplicates


class Command(BaseCommand):
    help = "Measure linkage precision and recall on synthetic cases with planted duplicates."

    def add_arguments(self, parser):
        parser.add_argument("--cases", type=int, default=10_000)
        parser.add_argument("--duplicates", type=int, default=500)
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, cases: int, duplicates: int, seed: int, **options):
        call_command("synth", cases=cases, seed=seed, reset=True, stdout=io.StringIO())
        planted = plant_duplicates(count=duplicates, seed=seed)
        started = time.monotonic()
        qualities, scored = measure(planted)
        seconds = time.monotonic() - started
        self.stdout.write(
            f"{scored:,} cases ({len(planted):,} planted duplicates) scored in {seconds:,.1f} s"
        )
        for quality in qualities:
            self.stdout.write(
                f"  match probability >= {quality.threshold}: {quality.pairs_found:,} pairs, "
                f"precision {quality.precision:.3f}, recall {quality.recall:.3f}"
            )
