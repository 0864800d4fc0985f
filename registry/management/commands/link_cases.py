"""Find pairs of cases that may be one patient and queue them for curators' review.

    python manage.py link_cases [--threshold 0.5] [--since CASE_ID]

Scores the registry with the Fellegi-Sunter model (`registry.linkage`, Splink on
DuckDB) and stores new pairs above the threshold as pending candidates; pairs
already stored, pending or decided, are left as they are. `--since` keeps only
pairs with a case newer than that id (a run after new cases arrive). Progress
is shown on a terminal, not in CI or when output is redirected.
"""

from django.core.management.base import BaseCommand, CommandError

from registry.linkage.candidates import REVIEW_THRESHOLD, find_link_candidates
from registry.progress import Progress


class Command(BaseCommand):
    help = "Queue candidate pairs of the same patient (probabilistic linkage) for review."

    def add_arguments(self, parser):
        parser.add_argument("--threshold", type=float, default=REVIEW_THRESHOLD)
        parser.add_argument("--since", type=int, default=None, help="Only pairs with a newer case.")

    def handle(self, *args, threshold: float, since: int | None, **options):
        if not 0 < threshold < 1:
            raise CommandError("--threshold is a match probability between 0 and 1.")
        progress = Progress("link_cases", 3, unit=" steps")
        try:
            run = find_link_candidates(
                threshold=threshold, since=since, on_progress=progress.update
            )
        finally:
            progress.close()
        self.stdout.write(
            f"Scored {run.cases:,} cases: {run.pairs_scored_above_threshold:,} pairs at or above "
            f"{threshold}; {run.candidates_added:,} new candidates queued for review."
        )
