"""Cases from a CSV file: the rows of a spreadsheet as the batch's case JSON, and back.

The layout is REDCap's for repeating instruments: every line names its case
(`local_id`) and what it holds (`row`: `case`, `metastasis` or `treatment`), so a
case with three metastases is one case line and three metastasis lines. Case
fields keep the API's names; metastasis and treatment fields are prefixed
(`metastasis_site`, `treatment_modality`). A treatment's `treatment_metastasis`
is the number of the case's metastasis line (1 for its first). Lists
(`metastasis_confirmed_by`) are separated by semicolons.

Each case becomes one batch item (`registry.services.batch`), so validation is
the API's, and each error is mapped back to the line and column that caused it.
"""

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from api.hospital.case_form import typed
from registry.payload import CASE_FIELDS, METASTASIS_FIELDS, TREATMENT_FIELDS

TEMPLATE = Path(settings.BASE_DIR) / "examples" / "hospital-cases-template.csv"
PARTS = {
    "metastasis": ("metastases", METASTASIS_FIELDS),
    "treatment": ("treatments", TREATMENT_FIELDS),
}
CASE_COLUMNS = [name for name in CASE_FIELDS if name not in ("source", "doi", "pmid")]
COLUMNS = [
    "local_id",
    "row",
    *CASE_COLUMNS,
    *(f"{kind}_{name}" for kind, (_, names) in PARTS.items() for name in names),
]
LIST_COLUMNS = {"metastasis_confirmed_by"}
# A file no person would type: past it, split the file (the batch's own limits follow).
MAX_FILE_BYTES = 5 * 1024 * 1024


@dataclass
class CsvCase:
    """One case of the file: its JSON for the batch, and the lines each part came from."""

    local_id: str
    data: dict
    case_line: int | None = None
    part_lines: dict[str, list[int]] = field(
        default_factory=lambda: {"metastases": [], "treatments": []}
    )
    problems: list[tuple[int, str | None, str]] = field(
        default_factory=list
    )  # line, column, message

    def where(self, path: str | None) -> tuple[int | None, str | None]:
        """The line and column of an error path such as `metastases[1].site`."""
        if path is None:
            return self.case_line, None
        found = re.fullmatch(r"(metastases|treatments)\[(\d+)\](?:\.(\w+))?", path)
        if found is None:
            return self.case_line, path if path in COLUMNS else None
        part, index, name = found.group(1), int(found.group(2)), found.group(3)
        lines = self.part_lines[part]
        line = lines[index] if index < len(lines) else self.case_line
        prefix = "metastasis" if part == "metastases" else "treatment"
        return line, f"{prefix}_{name}" if name else None


@dataclass
class CsvFile:
    """The cases of a file in order of first appearance, or why the file cannot be read."""

    cases: list[CsvCase] = field(default_factory=list)
    refusal: str | None = None


def read_cases(raw: bytes) -> CsvFile:
    """The cases of an uploaded CSV (UTF-8, with or without Excel's BOM; comma or semicolon)."""
    if len(raw) > MAX_FILE_BYTES:
        return CsvFile(
            refusal=f"The file is larger than {MAX_FILE_BYTES // 1024 // 1024} MB; split it."
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return CsvFile(refusal="The file is not UTF-8 text: save it as 'CSV UTF-8' and try again.")
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        return CsvFile(refusal="The file is empty; start from the template.")
    except csv.Error as broken:
        return CsvFile(refusal=f"Line 1 is not CSV: {broken}.")
    unknown = [name for name in header if name and name not in COLUMNS]
    if unknown or "local_id" not in header or "row" not in header:
        missing = [name for name in ("local_id", "row") if name not in header]
        parts = []
        if unknown:
            parts.append(f"unknown columns {', '.join(unknown)}")
        if missing:
            parts.append(f"missing columns {', '.join(missing)}")
        return CsvFile(
            refusal=f"Line 1 (the header): {'; '.join(parts)}. Use the template's columns."
        )
    found: dict[str, CsvCase] = {}
    loose = CsvCase("", {})  # lines that name no case
    try:
        for line, values in enumerate(reader, start=2):
            if not any(value.strip() for value in values):
                continue
            record = dict(zip(header, (value.strip() for value in values), strict=False))
            if len(values) > len(header):
                loose.problems.append(
                    (line, None, f"{len(values)} fields, but the header has {len(header)}.")
                )
                continue
            _add_line(found, loose, line, record)
    except csv.Error as broken:
        return CsvFile(refusal=f"Line {reader.line_num} is not CSV: {broken}.")
    cases = list(found.values())
    if loose.problems:
        cases.insert(0, loose)
    return CsvFile(cases)


def _add_line(found: dict[str, CsvCase], loose: CsvCase, line: int, record: dict) -> None:
    local_id, kind = record.get("local_id", ""), record.get("row", "").lower()
    if not local_id:
        loose.problems.append((line, "local_id", "Every line names its case's local_id."))
        return
    case = found.setdefault(local_id, CsvCase(local_id, {"local_id": local_id, "metastases": []}))
    if kind == "case":
        if case.case_line is not None:
            case.problems.append(
                (
                    line,
                    "row",
                    f"A second case line for '{local_id}' (the first is line {case.case_line}).",
                )
            )
            return
        case.case_line = line
        case.data.update(
            {name: typed(None, name, record[name]) for name in CASE_COLUMNS if record.get(name)}
        )
        return
    if kind not in PARTS:
        case.problems.append((line, "row", "row is case, metastasis or treatment."))
        return
    part, names = PARTS[kind]
    item = {}
    for name in names:
        value = record.get(f"{kind}_{name}", "")
        if not value:
            continue
        if f"{kind}_{name}" in LIST_COLUMNS:
            item[name] = [v.strip() for v in value.split(";") if v.strip()]
        elif kind == "treatment" and name == "metastasis" and value.isdigit():
            item[name] = int(value) - 1  # the case's first metastasis line is 1
        else:
            item[name] = typed(part, name, value)
    case.data.setdefault(part, []).append(item)
    case.part_lines[part].append(line)


def template_text() -> str:
    """The template people start from: the founding case, with every column."""
    return TEMPLATE.read_text(encoding="utf-8")
