"""The README and the docs as a newcomer follows them, run against a live server.

Every `sh` block that runs `curl` or `.venv/bin/python manage.py` in README.md
and docs/*.md runs, in reading order (README, integrators, FHIR, then the
other pages), in one shell state against one live server and database, as a
newcomer would paste them after `make run`. The answer shown after a block (a
`text` block starting `HTTP/1.1 <status>`, or a `json` block) is checked: the
status, the headers shown (UUIDs and `…` match anything), and the shape of the
body (every key shown is in the real answer). A README that drifts from the
product fails here.

Every other command block (make, docker, a command that needs a terminal or a
server of its own) says why no test runs it, in an HTML comment just above it:
`<!-- not run: starts a server that runs until stopped -->`.
"""

import json
import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from registry.vocabularies import forget_vocabularies

ROOT = Path(settings.BASE_DIR)
READING_ORDER = ["README.md", "docs/integrators.md", "docs/fhir.md"]
DOCUMENTED_SERVER = "http://127.0.0.1:8000"
FENCE = re.compile(r"^[ \t]*```(\w*)[^\n]*\n(.*?)^[ \t]*```[ \t]*$", re.MULTILINE | re.DOTALL)
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
JSON_KEY = re.compile(r'"([A-Za-z_][A-Za-z0-9_]*)"\s*:')
STATUS_LINE = re.compile(r"^HTTP/[\d.]+ (\d{3})", re.MULTILINE)
# `<!-- not run: why -->` just above a block: a documented command no test runs, and why.
NOT_RUN = re.compile(r"<!-- not run: ([^>]*\S[^>]*) -->\s*\Z")
# Headers shown in the docs whose values the check compares (others vary by run).
COMPARED_HEADERS = {"content-type", "etag", "location", "idempotent-replayed", "retry-after"}


@dataclass
class Step:
    document: str
    line: int
    command: str
    answer_language: str | None = None
    answer: str | None = None


def documents() -> list[Path]:
    others = sorted(str(path.relative_to(ROOT)) for path in (ROOT / "docs").glob("*.md"))
    names = READING_ORDER + [name for name in others if name not in READING_ORDER]
    return [ROOT / name for name in names]


def is_runnable(language: str, code: str) -> bool:
    return language == "sh" and ("curl " in code or ".venv/bin/python manage.py" in code)


def not_run_reason(text: str, block: re.Match) -> str | None:
    """The reason given just above a block for not running it, if any."""
    found = NOT_RUN.search(text, 0, block.start())
    return found.group(1).strip() if found else None


def walkthrough() -> list[Step]:
    """The runnable blocks of every page, each with the answer shown after it."""
    steps: list[Step] = []
    for path in documents():
        text = path.read_text(encoding="utf-8")
        blocks = list(FENCE.finditer(text))
        for index, block in enumerate(blocks):
            language, code = block.group(1), block.group(2)
            if not is_runnable(language, code) or not_run_reason(text, block):
                continue
            step = Step(str(path.relative_to(ROOT)), text.count("\n", 0, block.start()) + 1, code)
            following = blocks[index + 1] if index + 1 < len(blocks) else None
            if (
                following is not None
                and not is_runnable(*following.groups())
                and following.group(1) in ("text", "json")
            ):
                step.answer_language, step.answer = following.group(1), following.group(2)
            steps.append(step)
    return steps


def run_steps(steps: list[Step], base_url: str, environment: dict, state: Path) -> list[str]:
    """Runs the blocks in one shell state (exported variables carry over); their outputs."""
    outputs = []
    state.write_text("")
    for step in steps:
        script = "\n".join(
            [
                "set -e",
                f"source {shlex.quote(str(state))}",
                step.command.replace(DOCUMENTED_SERVER, base_url),
                f"export -p > {shlex.quote(str(state))}",
            ]
        )
        done = subprocess.run(
            ["bash", "-c", script],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
        )
        where = f"{step.document}:{step.line}"
        assert done.returncode == 0, f"{where} failed:\n{done.stdout}\n{done.stderr}"
        assert "Traceback" not in done.stderr, f"{where}:\n{done.stderr}"
        outputs.append(done.stdout)
    return outputs


def pattern_of(documented: str) -> re.Pattern:
    """A documented value as a pattern: UUIDs and `…` stand for whatever the run gave."""
    parts = re.split(r"(…|" + UUID.pattern + ")", documented.strip())
    pieces = []
    for part in parts:
        if part == "…":
            pieces.append(".*")
        elif UUID.fullmatch(part or ""):
            pieces.append(UUID.pattern)
        else:
            pieces.append(re.escape(part))
    return re.compile("".join(pieces))


def split_http(text: str) -> tuple[int | None, dict[str, str], str]:
    """Status, headers and body of `curl -i` output or of a documented answer."""
    text = text.replace("\r\n", "\n")
    statuses = STATUS_LINE.findall(text)
    if not statuses:
        return None, {}, text
    start = [m.start() for m in STATUS_LINE.finditer(text)][-1]
    head, _, body = text[start:].partition("\n\n")
    headers = {}
    for line in head.splitlines()[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(statuses[-1]), headers, body


def check_answer(step: Step, output: str) -> None:
    where = f"{step.document}:{step.line}"
    status, headers, body = split_http(output)
    if step.answer_language == "text":
        shown_status, shown_headers, shown_body = split_http(step.answer)
        if shown_status is None:
            # A plain-text answer such as CSV: its first line is the header row.
            assert output.splitlines()[:1] == step.answer.strip().splitlines()[:1], where
            return
        assert status == shown_status, f"{where}: answered {status}, shows {shown_status}"
        for name, value in shown_headers.items():
            if name in COMPARED_HEADERS:
                assert name in headers, f"{where}: no {name} header"
                assert pattern_of(value).fullmatch(headers[name]), (
                    f"{where}: {name}: {headers[name]!r} does not match {value!r}"
                )
        shown_keys = set(JSON_KEY.findall(shown_body))
    else:
        shown_keys = set(JSON_KEY.findall(step.answer))
        json.loads(body)  # a JSON answer shown as JSON must be JSON
    missing = shown_keys - set(JSON_KEY.findall(body))
    assert not missing, f"{where}: keys shown but not answered: {sorted(missing)}"


def test_the_walkthrough_reads_in_order_and_every_command_is_runnable():
    steps = walkthrough()
    assert [step.document for step in steps[:2]] == ["README.md", "README.md"]
    assert any(step.document == "docs/integrators.md" for step in steps)
    assert any(step.document == "docs/fhir.md" for step in steps)
    # Nothing a reader would paste is left unchecked: every command block is a step,
    # or says above it why no test runs it.
    for path in documents():
        text = path.read_text(encoding="utf-8")
        for block in FENCE.finditer(text):
            language, code = block.groups()
            where = f"{path.name}:{text.count(chr(10), 0, block.start()) + 1}"
            if language in ("sh", "bash", "shell", "console"):
                assert language == "sh", f"{where}: commands go in sh blocks"
                assert is_runnable(language, code) or not_run_reason(text, block), (
                    f"{where}: run it (curl, .venv/bin/python manage.py) or say why not "
                    f"with <!-- not run: why --> above it: {code[:60]!r}"
                )
            # Outside the virtualenv `python manage.py` finds no Django.
            if language == "sh" and "docker" not in code:
                assert not re.search(r"(^|[\s;&|(])python3? manage\.py", code), (
                    f"{where}: .venv/bin/python manage.py, not a bare python"
                )


def test_a_block_marked_not_run_needs_a_reason():
    text = "<!-- not run:  -->\n```sh\nmake run\n```\n"
    assert not_run_reason(text, FENCE.search(text)) is None
    text = "<!-- not run: serves until stopped -->\n\n```sh\nmake run\n```\n"
    assert not_run_reason(text, FENCE.search(text)) == "serves until stopped"


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.usefixtures("vocabularies_back_afterwards")
@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
@pytest.mark.django_db(transaction=True)
def test_every_request_in_the_readme_answers_as_shown(live_server, tmp_path):
    # What `make run` leaves behind: vocabularies, the founding case, the demo accounts.
    call_command("load_vocabularies", stdout=open(os.devnull, "w"))  # noqa: SIM115
    forget_vocabularies()
    call_command("load_cases", "seeds/cases/founding_case.json", stdout=open(os.devnull, "w"))  # noqa: SIM115
    call_command("demo_accounts", stdout=open(os.devnull, "w"))  # noqa: SIM115
    database = connection.settings_dict
    environment = {
        **os.environ,
        # manage.py in the blocks works on the live server's database.
        "DATABASE_URL": (
            f"postgres://{database['USER']}:{database['PASSWORD'] or ''}"
            f"@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}/{database['NAME']}"
        ),
    }
    steps = walkthrough()
    outputs = run_steps(steps, live_server.url, environment, tmp_path / "state.sh")
    for step, output in zip(steps, outputs, strict=True):
        if step.answer is not None:
            check_answer(step, output)
