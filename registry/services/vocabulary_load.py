"""Loading coded vocabularies from files, idempotently and with provenance.

Loading the same files twice changes nothing; a changed title or group updates
just those rows under a new release record. The topography and morphology
readers take the registry's CSV files and also an institution's licensed WHO
list (CSV or tab-separated, columns named code/kode and title/label/description;
later rows for a code, the synonyms, are skipped).
"""

import csv
import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from registry.models import Morphology, Subtype, Topography, VocabularyRelease
from registry.vocabularies import forget_vocabularies

_TOPOGRAPHY_CODE = re.compile(r"^C(\d\d)\.?(\d)$")
_MORPHOLOGY_CODE = re.compile(r"^(\d{4})/?([0-369])$")
_CODE_COLUMNS = ("code", "kode")
_TITLE_COLUMNS = ("title", "label", "description", "term")


@dataclass(frozen=True)
class LoadResult:
    vocabulary: str
    created: int
    updated: int
    unchanged: int
    release: VocabularyRelease | None

    def __str__(self) -> str:
        return (
            f"{self.vocabulary}: {self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged"
        )


# ---------------------------------------------------------------- reading files


def _read_rows(path: Path) -> list[dict[str, str]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as problem:
        raise ValidationError(f"{path.name}: not UTF-8 text ({problem.reason}).") from problem
    if not text.strip():
        raise ValidationError(f"{path.name}: the file is empty.")
    try:
        dialect = csv.Sniffer().sniff(text.splitlines()[0], delimiters=",\t;")
    except csv.Error:
        # A header of one column has no delimiter to find; its missing columns are named below.
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    return [
        {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()} for row in reader
    ]


def _column(row: dict[str, str], names: tuple[str, ...], path: Path) -> str:
    for name in names:
        if name in row:
            return row[name]
    raise ValidationError(f"{path.name}: needs a column named one of {', '.join(names)}.")


def _coded_titles(path: Path, pattern: re.Pattern[str], fmt: str) -> dict[str, str]:
    """code -> preferred title; codes normalised (C444 -> C44.4, 85003 -> 8500/3)."""
    titles: dict[str, str] = {}
    for row in _read_rows(path):
        match = pattern.match(_column(row, _CODE_COLUMNS, path).upper())
        if match:
            titles.setdefault(fmt.format(*match.groups()), _column(row, _TITLE_COLUMNS, path))
    if not titles:
        raise ValidationError(f"{path.name}: no codes found.")
    return titles


def read_topography(codes_file: Path, categories_file: Path) -> dict[str, dict]:
    categories = {
        _column(row, ("category",), categories_file): row for row in _read_rows(categories_file)
    }
    rows, missing = {}, set()
    for code, title in _coded_titles(codes_file, _TOPOGRAPHY_CODE, "C{}.{}").items():
        category = categories.get(code[:3])
        # A code outside every analysis roll-up would vanish from the statistics.
        if category is None or not _column(category, ("site_group",), categories_file):
            missing.add(code[:3])
            continue
        rows[code] = {
            "title": title,
            "category": code[:3],
            "category_title": _column(category, ("title",), categories_file),
            "site_group": category["site_group"],
            "subtype_family": category.get("subtype_family", ""),
        }
    if missing:
        raise ValidationError(
            f"{categories_file.name} has no site group for categories {', '.join(sorted(missing))}."
        )
    return rows


def read_morphology(codes_file: Path) -> dict[str, dict]:
    return {
        code: {"title": title, "histology": code[:4], "behaviour": int(code[5])}
        for code, title in _coded_titles(codes_file, _MORPHOLOGY_CODE, "{}/{}").items()
    }


def read_subtypes(codes_file: Path) -> dict[str, dict]:
    return {
        _column(row, ("code",), codes_file): {
            name: _column(row, (name,), codes_file) for name in ("family", "title", "definition")
        }
        for row in _read_rows(codes_file)
    }


# ---------------------------------------------------------------- writing rows

_MODELS = {"topography": Topography, "morphology": Morphology, "subtypes": Subtype}


@transaction.atomic
def vocabulary_load(
    *, vocabulary: str, rows: dict[str, dict], files: list[Path], source: str, version: str
) -> LoadResult:
    """Upsert `rows` (code -> fields); a release is recorded only when rows change.

    Codes absent from the new rows are kept: stored cases may still use them.
    """
    model = _MODELS[vocabulary]
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.read_bytes())
    digest.update(f"{source}\n{version}".encode())
    stored = model.objects.in_bulk(list(rows))
    new = [code for code in rows if code not in stored]
    changed = [
        code
        for code, fields in rows.items()
        if code in stored and any(getattr(stored[code], k) != v for k, v in fields.items())
    ]
    if not new and not changed:
        return LoadResult(vocabulary, 0, 0, len(rows), None)
    release, _ = VocabularyRelease.objects.get_or_create(
        vocabulary=vocabulary,
        sha256=digest.hexdigest(),
        defaults={"source": source, "version": version},
    )
    release.rows_created, release.rows_updated = len(new), len(changed)
    # Content loaded before and now back again: it is the newest load once more.
    release.loaded_at = timezone.now()
    release.save(update_fields=["rows_created", "rows_updated", "loaded_at"])
    model.objects.bulk_create([model(code=code, release=release, **rows[code]) for code in new])
    for code in changed:
        for name, value in rows[code].items():
            setattr(stored[code], name, value)
        stored[code].release = release
    model.objects.bulk_update([stored[c] for c in changed], [*next(iter(rows.values())), "release"])
    # This process sees the new rows at once (others within RECHECK_SECONDS).
    forget_vocabularies()
    transaction.on_commit(forget_vocabularies)
    return LoadResult(
        vocabulary, len(new), len(changed), len(rows) - len(new) - len(changed), release
    )
