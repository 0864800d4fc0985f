"""Fill the registry with synthetic cases for load tests and benchmarks (by COPY).

    python manage.py synth --cases 1000000 [--seed 1] [--reset]

Appends: each run adds `--cases` cases after the last synthetic one, so
`--cases 10000` twice gives the same 20,000 cases as `--cases 20000` once (with
the same seed). `--reset` first deletes every case of the synthetic hospitals
(`synth-001` … `synth-040`) with its history. Real institutions' cases are never
touched. Progress is shown on a terminal, not in CI or when output is redirected.
"""

import io

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from registry.models import Topography
from registry.progress import Progress
from registry.services.synthetic import (
    SyntheticLoadError,
    synthetic_case_count,
    synthetic_cases_load,
)


class Command(BaseCommand):
    help = "Append N deterministic synthetic cases (COPY); --reset deletes earlier ones first."

    def add_arguments(self, parser):
        parser.add_argument("--cases", type=int, required=True, help="How many cases to add.")
        parser.add_argument("--seed", type=int, default=1, help="Same seed, same cases (1).")
        parser.add_argument(
            "--reset", action="store_true", help="Delete the synthetic hospitals' cases first."
        )

    def handle(self, *args, cases: int, seed: int, reset: bool, **options):
        if cases < 0:
            raise CommandError("--cases must be 0 or more.")
        if seed < 0:
            raise CommandError("--seed must be 0 or more.")
        if not Topography.objects.exists():
            call_command("load_vocabularies", stdout=io.StringIO())
        progress = Progress("synth", cases, unit=" cases")
        try:
            result = synthetic_cases_load(
                count=cases, seed=seed, reset=reset, on_progress=progress.update
            )
        except SyntheticLoadError as problem:
            raise CommandError(str(problem)) from problem
        finally:
            progress.close()
        if result.deleted:
            self.stdout.write(f"Deleted {result.deleted:,} earlier synthetic cases.")
        self.stdout.write(
            f"Added {result.cases:,} synthetic cases (seed {seed}, from #{result.first_index:,}) "
            f"with {result.metastases:,} metastases and {result.treatments:,} treatments "
            f"in {result.seconds:,.1f} s ({result.rate:,.0f} cases/s); "
            f"{synthetic_case_count():,} synthetic cases in all."
        )
