"""Small-cell suppression: no published count of patients below the threshold, none recoverable.

Why: the registry's cases are rare by definition. A count of 3 women aged 50-59
with a scalp metastasis of a triple-negative breast cancer diagnosed in 2019 at
one hospital is close to naming them, so everyone but curators sees such a cell
as suppressed, and the other published numbers must not give it back.

The rule, on a table of counts with its totals (`threshold` is
REGISTRY_MIN_CELL_COUNT, 11 by default):

1. Primary suppression. Every count `c` with `0 < c < threshold` is suppressed.
   Zero is published: it describes nobody. A table whose grand total is below
   the threshold is suppressed whole.
2. Complementary suppression. Every "line" of a table is one linear equation:
   the cells of a one-way table add up to its total; in a cross-table each row
   adds up to its row total, each column to its column total, and the row
   totals and the column totals each add up to the grand total. Then:
   a. a line holding a suppressed entry holds at least two (a line's total is
      one of its entries), so subtracting the published entries from the total
      leaves a sum of at least two unknowns, never one number;
   b. when the line's total is published, its suppressed cells add up to at
      least the threshold, so what subtraction yields could itself have been
      published;
   c. in a cross-table, every suppressed entry lies on a cycle of suppressed
      entries in the bipartite graph whose vertices are the rows and columns
      (the totals row and column included) and whose edges are the entries.
      This is exactly the condition under which no combination of the line
      equations determines an entry (a bridge of that graph is determined; an
      entry on a cycle can be moved up and down the cycle), and it implies (a).
   Complementary entries are chosen cheapest first: already-suppressed entries,
   then the smallest positive cells (least information lost); a zero, or a cell
   that a published total gives away while the zeros beside it are shown, only
   when nothing else closes the cycle (hiding it bounds the cycle from one side
   only), and never a cell whose value a published total states outright. If
   even that fails, every interior cell that can be hidden is.
3. Consistency between tables. The grand total (the cases selected by the
   filters) is the same in every table of the same filters, so it is never used
   as a complementary entry. A cross-table's margins are suppressed exactly as
   the one-way tables of its two dimensions are (the same function of the same
   numbers), and its complementary cells are taken from its interior only, so
   the one-way tables cannot be used to undo the cross-table's protection.

Totals that are not sums of their cells (a case with metastases at two sites
counts once in the total and once at each site) are treated as if they were:
the true relation is an inequality, which gives away less than an equation.

What cell suppression cannot do is stop differencing between requests with
different filters (year_max=2019 against year_max=2020); that is why counts
need an account, are throttled, and count only verified cases for analysts.
"""

import heapq
from collections.abc import Sequence
from dataclasses import dataclass

# A zero used as a complement bounds its cycle from one side, and so does a cell
# that a published total implies while the zeros of its line are shown; any
# positive cell is preferred to the first, and either to the second.
_ZERO_CELL_COST = 10**12
_IMPLIED_CELL_COST = 10**15


@dataclass(frozen=True)
class LineSuppression:
    """Which entries of a one-way table (cells, then its total) are suppressed."""

    cells: tuple[bool, ...]
    total: bool

    @property
    def count(self) -> int:
        return sum(self.cells) + self.total


@dataclass(frozen=True)
class TableSuppression:
    """Which entries of a cross-table (cells, margins, grand total) are suppressed."""

    cells: tuple[tuple[bool, ...], ...]
    row_totals: tuple[bool, ...]
    col_totals: tuple[bool, ...]
    total: bool

    @property
    def count(self) -> int:
        inner = sum(sum(row) for row in self.cells)
        return inner + sum(self.row_totals) + sum(self.col_totals) + self.total


def is_primary(count: int, threshold: int) -> bool:
    """A count that may not be published: some patients, but fewer than the threshold."""
    return 0 < count < threshold


# ---------------------------------------------------------------- one-way tables


def suppress_line(counts: Sequence[int], total: int, threshold: int) -> LineSuppression:
    """Primary and complementary suppression of one line: cells that add up to `total`."""
    n = len(counts)
    if is_primary(total, threshold):
        return LineSuppression(cells=(True,) * n, total=True)
    hidden = {i for i, count in enumerate(counts) if is_primary(count, threshold)}
    if not hidden:
        return LineSuppression(cells=(False,) * n, total=False)
    while len(hidden) < 2 or sum(counts[i] for i in hidden) < threshold:
        shown = [i for i in range(n) if i not in hidden and counts[i] > 0]
        if not shown:
            # Only reachable when the total exceeds the sum of the cells; hide it too.
            return LineSuppression(cells=(True,) * n, total=True)
        hidden.add(min(shown, key=lambda i: (counts[i], i)))
    return LineSuppression(cells=tuple(i in hidden for i in range(n)), total=False)


# ---------------------------------------------------------------- cross-tables
# Vertices: rows 0..R-1, the totals row R; columns R+1..R+C, the totals column R+C+1.
# An entry is the edge between its row and its column.


class _Unprotectable(Exception):
    """No choice of interior cells protects the table; hide all that can be hidden."""


def suppress_table(
    cells: Sequence[Sequence[int]],
    row_totals: Sequence[int],
    col_totals: Sequence[int],
    total: int,
    threshold: int,
) -> TableSuppression:
    """Primary and complementary suppression of a cross-table with its margins."""
    n_rows, n_cols = len(row_totals), len(col_totals)
    if is_primary(total, threshold):
        return _everything(n_rows, n_cols)
    rows = suppress_line(row_totals, total, threshold)
    cols = suppress_line(col_totals, total, threshold)
    if rows.total or cols.total:
        return _everything(n_rows, n_cols)
    table = _Table(cells, threshold, rows.cells, cols.cells)
    hidden = {cell for cell in table.all_cells() if is_primary(table.value(cell), threshold)}
    try:
        table.protect(hidden)
    except _Unprotectable:
        hidden = {cell for cell in table.all_cells() if cell not in table.known}
    return TableSuppression(
        cells=tuple(tuple((i, j) in hidden for j in range(n_cols)) for i in range(n_rows)),
        row_totals=rows.cells,
        col_totals=cols.cells,
        total=False,
    )


def _everything(n_rows: int, n_cols: int) -> TableSuppression:
    return TableSuppression(
        cells=tuple((True,) * n_cols for _ in range(n_rows)),
        row_totals=(True,) * n_rows,
        col_totals=(True,) * n_cols,
        total=True,
    )


class _Table:
    """The interior of a cross-table with its margins fixed, and complementary suppression."""

    def __init__(self, cells, threshold: int, hidden_rows, hidden_cols):
        self.cells = cells
        self.threshold = threshold
        self.n_rows = len(hidden_rows)
        self.n_cols = len(hidden_cols)
        self.hidden_rows = {i for i, flag in enumerate(hidden_rows) if flag}
        self.hidden_cols = {j for j, flag in enumerate(hidden_cols) if flag}
        self.totals_row = self.n_rows
        self.totals_col = self.n_rows + self.n_cols + 1
        # A published total gives away the cells of a line of one cell or adding up to 0
        # (`known`), and, while the zeros beside it are shown, the only non-zero cell of
        # its line (`implied`); hiding such a cell as a complement would protect nothing.
        self.known: set[tuple[int, int]] = set()
        self.implied: set[tuple[int, int]] = set()
        for line, total_hidden in self.lines():
            if total_hidden:
                continue
            if len(line) == 1 or not any(map(self.value, line)):
                self.known.update(line)
            if sum(self.value(cell) > 0 for cell in line) <= 1:
                self.implied.update(line)

    def all_cells(self):
        return [(i, j) for i in range(self.n_rows) for j in range(self.n_cols)]

    def value(self, cell) -> int:
        return self.cells[cell[0]][cell[1]]

    def lines(self):
        """Each row and column of the interior, with whether its total is hidden."""
        for i in range(self.n_rows):
            yield [(i, j) for j in range(self.n_cols)], i in self.hidden_rows
        for j in range(self.n_cols):
            yield [(i, j) for i in range(self.n_rows)], j in self.hidden_cols

    def cost(self, cell) -> int | None:
        """The price of hiding a cell as a complement: its count, zeros and implied cells
        last, None for a cell whose value is published anyway."""
        if cell in self.known:
            return None
        if cell in self.implied:
            return _IMPLIED_CELL_COST
        count = self.value(cell)
        return count if count > 0 else _ZERO_CELL_COST

    def protect(self, hidden: set) -> None:
        """Add complements to `hidden` until the lines and cycles of the rule hold."""
        while True:
            short = self.short_line(hidden)
            if short is not None:
                hidden.add(short)
                continue
            graph = self.adjacency(hidden)
            bridge = self.bridge(graph)
            if bridge is None:
                return
            hidden.update(self.closing_path(graph, bridge, hidden))

    def short_line(self, hidden) -> tuple[int, int] | None:
        """A cell to hide so that a line with a published total hides at least the threshold."""
        for line, total_hidden in self.lines():
            inside = [cell for cell in line if cell in hidden]
            if total_hidden or not inside:
                continue
            if len(inside) >= 2 and sum(map(self.value, inside)) >= self.threshold:
                continue
            shown = [cell for cell in line if cell not in hidden and self.cost(cell) is not None]
            if not shown:
                raise _Unprotectable
            return min(shown, key=lambda cell: (self.cost(cell), cell))
        return None

    def col_vertex(self, j: int) -> int:
        return self.n_rows + 1 + j

    def adjacency(self, hidden) -> dict[int, list[tuple[int, object]]]:
        """Suppressed entries as a graph: vertex -> [(other vertex, entry)]."""
        edges = [(i, self.col_vertex(j), (i, j)) for i, j in hidden]
        edges += [(i, self.totals_col, ("row", i)) for i in self.hidden_rows]
        edges += [(self.totals_row, self.col_vertex(j), ("col", j)) for j in self.hidden_cols]
        graph: dict[int, list[tuple[int, object]]] = {}
        for u, v, entry in edges:
            graph.setdefault(u, []).append((v, entry))
            graph.setdefault(v, []).append((u, entry))
        return graph

    def bridge(self, graph) -> tuple[int, int, object] | None:
        """A suppressed entry on no cycle of suppressed entries (Tarjan), as (u, v, entry)."""
        order: dict[int, int] = {}
        low: dict[int, int] = {}
        for root in sorted(graph):
            if root in order:
                continue
            order[root] = low[root] = len(order)
            stack = [(root, None, iter(graph[root]))]
            while stack:
                vertex, via, neighbours = stack[-1]
                for neighbour, entry in neighbours:
                    if entry == via:
                        continue
                    if neighbour in order:
                        low[vertex] = min(low[vertex], order[neighbour])
                    else:
                        order[neighbour] = low[neighbour] = len(order)
                        stack.append((neighbour, entry, iter(graph[neighbour])))
                        break
                else:
                    stack.pop()
                    if stack:
                        parent = stack[-1][0]
                        low[parent] = min(low[parent], low[vertex])
                        if low[vertex] > order[parent]:
                            return parent, vertex, via
        return None

    def closing_path(self, graph, bridge, hidden) -> list[tuple[int, int]]:
        """The cheapest interior cells that put the bridge on a cycle (Dijkstra)."""
        start, goal, bridge_entry = bridge

        def neighbours(vertex):
            for other, entry in graph.get(vertex, ()):
                if entry != bridge_entry:
                    yield other, 0, None
            if vertex < self.n_rows:
                candidates = [(vertex, j) for j in range(self.n_cols)]
            elif self.totals_row < vertex < self.totals_col:
                candidates = [(i, vertex - self.n_rows - 1) for i in range(self.n_rows)]
            else:
                candidates = []
            for cell in candidates:
                cost = self.cost(cell)
                if cell not in hidden and cost is not None:
                    other = self.col_vertex(cell[1]) if vertex < self.n_rows else cell[0]
                    yield other, cost, cell

        best = {start: 0}
        came_from: dict[int, tuple[int, tuple[int, int] | None]] = {}
        queue = [(0, start)]
        while queue:
            cost, vertex = heapq.heappop(queue)
            if vertex == goal:
                break
            if cost > best[vertex]:
                continue
            for neighbour, step, cell in neighbours(vertex):
                if neighbour not in best or cost + step < best[neighbour]:
                    best[neighbour] = cost + step
                    came_from[neighbour] = (vertex, cell)
                    heapq.heappush(queue, (cost + step, neighbour))
        if goal not in best:
            raise _Unprotectable
        path, vertex = [], goal
        while vertex != start:
            vertex, cell = came_from[vertex]
            if cell is not None:
                path.append(cell)
        return path
