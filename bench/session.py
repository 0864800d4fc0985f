"""One registry size under measurement: its gunicorn server, its tokens, its clean-up.

Measures take a `Session` and hand back figures; every run of every measure meets
the same registry, since what the benchmark writes (as institution `bench-ingest`)
is deleted after each run and again at the end.
"""

import os
import secrets
from dataclasses import dataclass

from bench.environment import WORKERS, ingest_institution
from bench.server import Gunicorn


@dataclass(frozen=True)
class Settings:
    """How much to measure: repetitions, wrk's run length, batches per ingest run."""

    runs: int
    seconds: int
    batches: int
    only: str = ""  # comma-separated measure labels; empty: every measure


class Session:
    """A server for one registry size, with a curator, an analyst and a submitter token."""

    def __init__(self, size: int, settings: Settings):
        from registry.models import Role, User
        from registry.services.tokens import token_issue

        self.size = size
        self.runs, self.seconds, self.batches = settings.runs, settings.seconds, settings.batches
        self.run_id = secrets.token_hex(4)  # makes the local_ids of this session unique
        self.institution = ingest_institution()
        self.purge()
        users = {
            role: User.objects.get_or_create(
                username=f"bench-{role}",
                defaults={
                    "role": role,
                    "institution": self.institution if role == Role.SUBMITTER else None,
                },
            )[0]
            for role in (Role.CURATOR.value, Role.ANALYST.value, Role.SUBMITTER.value)
        }
        self.tokens = {
            role: token_issue(user=user, name="bench", valid_days=1)[1]
            for role, user in users.items()
        }
        self.server = Gunicorn(os.environ.copy(), WORKERS, timeout=600)
        self.base = self.server.start()

    def client(self, role: str, timeout: float):
        """An HTTP client of the server with the bearer token of `role`; close it after use."""
        import httpx

        headers = {"Authorization": f"Bearer {self.tokens[role]}"}
        return httpx.Client(base_url=self.base, headers=headers, timeout=timeout)

    def close(self) -> None:
        self.server.stop()
        self.purge()

    def purge_cases(self) -> None:
        """Delete the cases the benchmark submitted, with their history."""
        from registry.services.synthetic import institution_cases_purge

        institution_cases_purge(institution_ids=[self.institution.pk])

    def purge(self) -> None:
        """Remove what earlier measurements wrote, so every run meets the same registry."""
        from registry.models import ApiToken, IdempotencyRecord

        self.purge_cases()
        IdempotencyRecord.objects.filter(user__username__startswith="bench-").delete()
        ApiToken.objects.filter(user__username__startswith="bench-").delete()
