"""The tables the statistics return, and how each becomes what a user may see.

Counting fills them with exact numbers, each count with the sum of its cases'
record keys when the user is not a curator; `protected(access)` then turns them
into what that user may see (`registry.access`, `registry.disclosure`):
curators everything, analysts perturbed counts with the small ones hidden.
"""

from dataclasses import dataclass, fields, replace
from typing import TypeVar

from registry.access import StatisticsAccess
from registry.disclosure import METASTASES, Tally, publish
from registry.stats.dimensions import AgeBands, Dimension


@dataclass(frozen=True)
class Line:
    """One value of a dimension, or the total, with its figures; the shape every table shares."""

    key: str
    label: str
    cases: int | None


AnyLine = TypeVar("AnyLine", bound=Line)

# What names a line rather than measures it, and what never leaves the domain.
_NOT_FIGURES = frozenset({"key", "label", "suppressed", "key_sum"})


def withheld(line: AnyLine) -> AnyLine:
    """The line as an analyst sees a hidden number: every figure None, marked suppressed."""
    figures = {field.name: None for field in fields(line) if field.name not in _NOT_FIGURES}
    return replace(line, **figures, suppressed=True)


# ---------------------------------------------------------------- counts


@dataclass(frozen=True)
class Row(Line):
    """One value of a dimension and its counts; None with `suppressed` when hidden.

    `key_sum` is the sum of the record keys of the cases counted (the cell key
    before its modulo); it never leaves the domain.
    """

    metastases: int | None = None
    suppressed: bool = False
    key_sum: int = 0

    @property
    def tally(self) -> Tally:
        return Tally(self.cases or 0, self.key_sum)

    def published(self, access: StatisticsAccess) -> "Row | None":
        """The row as the user may see it: exact, perturbed, or None when hidden."""
        if access.exact:
            return self
        cases = access.count(self.tally)
        if cases is None:
            return None
        metastases = None
        if self.metastases is not None:
            metastases = publish(self.metastases, self.tally.cell_key, access.threshold, METASTASES)
        return replace(self, cases=cases, metastases=metastases)


@dataclass(frozen=True)
class CountTable:
    """Cases (and, per site, metastases) for each value of one dimension."""

    dimension: Dimension
    rows: tuple[Row, ...]
    total: Row
    bands: AgeBands | None = None
    hidden: int | None = 0  # numbers hidden; None where telling it would give cells away

    def protected(self, access: StatisticsAccess) -> "CountTable":
        """What the user sees: curators everything; analysts the published rows only.

        A row below the threshold is left out rather than shown empty, so that a
        value with no case and a value with a few look the same.
        """
        if access.exact:
            return self
        total = self.total.published(access)
        if total is None:
            return replace(self, rows=(), total=withheld(self.total), hidden=None)
        rows = tuple(shown for row in self.rows if (shown := row.published(access)) is not None)
        return replace(self, rows=rows, total=total, hidden=None)


@dataclass(frozen=True)
class Cell:
    cases: int | None
    suppressed: bool = False
    key_sum: int = 0


@dataclass(frozen=True)
class CrossTable:
    """Cases for each pair of values of two dimensions, with row and column totals."""

    rows_dimension: Dimension
    cols_dimension: Dimension
    rows: tuple[Row, ...]  # the row totals
    columns: tuple[Row, ...]  # the column totals
    cells: tuple[tuple[Cell, ...], ...]
    total: Row
    bands: AgeBands | None = None
    hidden: int | None = 0

    def protected(self, access: StatisticsAccess) -> "CrossTable":
        """Analysts: rows and columns whose totals are published, each cell perturbed or hidden.

        A hidden cell may hold no case or a few: empty cells are hidden alike.
        """
        if access.exact:
            return self
        total = self.total.published(access)
        if total is None:
            return replace(
                self, rows=(), columns=(), cells=(), total=withheld(self.total), hidden=None
            )
        kept_rows = [(i, row.published(access)) for i, row in enumerate(self.rows)]
        kept_rows = [(i, row) for i, row in kept_rows if row is not None]
        kept_cols = [(j, col.published(access)) for j, col in enumerate(self.columns)]
        kept_cols = [(j, col) for j, col in kept_cols if col is not None]

        def cell(source: Cell) -> Cell:
            cases = access.count(Tally(source.cases or 0, source.key_sum))
            return Cell(cases, suppressed=cases is None)

        return replace(
            self,
            rows=tuple(row for _, row in kept_rows),
            columns=tuple(col for _, col in kept_cols),
            cells=tuple(tuple(cell(self.cells[i][j]) for j, _ in kept_cols) for i, _ in kept_rows),
            total=total,
            hidden=None,
        )


# ---------------------------------------------------------------- time to metastasis


@dataclass(frozen=True)
class IntervalRow(Line):
    """Months from primary diagnosis to metastasis at one site, over known intervals."""

    metastases: int | None
    median: float | None
    q1: float | None
    q3: float | None
    minimum: int | None
    maximum: int | None
    share_synchronous: float | None
    suppressed: bool = False


@dataclass(frozen=True)
class IntervalTable:
    dimension: Dimension
    rows: tuple[IntervalRow, ...]
    total: IntervalRow
    hidden: int | None = 0
