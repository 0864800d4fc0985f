"""A CSV import through the batch path, reported line by line for the person who sent it."""

from dataclasses import dataclass, field

from api.hospital.case_csv import CsvCase, CsvFile
from api.serializers.batch import batch_item_of
from api.serializers.cases import CaseSerializer
from registry import access
from registry.services.batch import (
    BatchTooLarge,
    batch_rows,
    case_batch_submit,
    check_batch_size,
)


@dataclass
class LineError:
    line: int | None
    column: str | None
    message: str


@dataclass
class CaseOutcome:
    """What became of one case of the file: created, updated, unchanged or error."""

    local_id: str
    line: int | None
    result: str
    errors: list[LineError] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)  # open soft-edit flags, as messages


@dataclass
class ImportReport:
    outcomes: list[CaseOutcome] = field(default_factory=list)
    refusal: str | None = None

    def count(self, result: str) -> int:
        return sum(outcome.result == result for outcome in self.outcomes)

    @property
    def summary(self) -> str:
        """E.g. '2 created, 0 updated, 1 unchanged, 1 with errors (not stored)'."""
        counts = [
            f"{self.count(result)} {result}" for result in ("created", "updated", "unchanged")
        ]
        return ", ".join([*counts, f"{self.count('error')} with errors (not stored)"])


def import_cases(user, found: CsvFile) -> ImportReport:
    """Send the file's readable cases as one batch; a case with a line problem is not sent."""
    if found.refusal:
        return ImportReport(refusal=found.refusal)
    if not found.cases:
        return ImportReport(refusal="The file has a header but no case lines.")
    ready = []
    report = ImportReport()
    for case in found.cases:
        if case.local_id and case.case_line is None:
            first = min(
                [*case.part_lines["metastases"], *case.part_lines["treatments"]], default=None
            )
            case.problems.append(
                (first, "row", f"'{case.local_id}' has no case line (row = case).")
            )
        if case.problems:
            errors = [LineError(line, column, message) for line, column, message in case.problems]
            report.outcomes.append(CaseOutcome(case.local_id, case.case_line, "error", errors))
        else:
            ready.append(case)
    try:
        check_batch_size(len(ready), batch_rows([case.data for case in ready]))
    except BatchTooLarge as too_large:
        return ImportReport(refusal=f"{too_large} (one file is one batch)")
    if ready:
        institution = access.institution_for_submission(user, None)
        reader = CaseSerializer()
        items = [batch_item_of(reader, case.data, institution) for case in ready]
        results = case_batch_submit(institution=institution, items=items, actor=user)
        report.outcomes += [
            _outcome(case, result) for case, result in zip(ready, results, strict=True)
        ]
    report.outcomes.sort(key=lambda outcome: outcome.line or 0)
    return report


def _outcome(case: CsvCase, result) -> CaseOutcome:
    errors = []
    for error in result.errors:
        line, column = case.where(error.field)
        message = (
            error.message if column or error.field is None else f"{error.field}: {error.message}"
        )
        errors.append(LineError(line, column, message))
    flags = [
        f"{flag.message} (flag {flag.code} on {flag.field}: counted once a curator confirms it)"
        for flag in result.flags
        if flag.is_open
    ]
    return CaseOutcome(case.local_id, case.case_line, result.result, errors, flags)
