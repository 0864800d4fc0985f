"""A wall-clock budget for one unit of work (an API request), checked where work loops.

The per-statement timeout let a request run 33 statements of 0.6 s each, or a
batch spend 54 s in Python screening text between statements. So a request
gets a deadline (set by api.middleware.RequestBudgetMiddleware), and the loops
that can run long call `budget_check()`: before every SQL statement, and
between the items of a batch. Past the deadline the work stops with
BudgetExceeded; the request's transaction rolls back, so nothing is written.

Outside a request (management commands, tests calling services) there is no
deadline and `budget_check()` costs a context-variable read.
"""

import contextlib
import contextvars
import time

# (deadline on the monotonic clock, the budget in ms) of the work under way, if any.
_budget: contextvars.ContextVar[tuple[float, int] | None] = contextvars.ContextVar(
    "work_budget", default=None
)


class BudgetExceeded(Exception):
    """The unit of work ran past its wall-clock budget."""

    def __init__(self, budget_ms: int):
        self.budget_ms = budget_ms
        super().__init__(f"The work ran over its budget of {budget_ms} ms.")


@contextlib.contextmanager
def work_budget(milliseconds: int):
    """Within the block, `budget_check()` raises once `milliseconds` have passed (0: none)."""
    if not milliseconds:
        yield
        return
    token = _budget.set((time.monotonic() + milliseconds / 1000, milliseconds))
    try:
        yield
    finally:
        _budget.reset(token)


def budget_remaining_seconds() -> float | None:
    """Seconds left (negative once past), or None without a budget."""
    budget = _budget.get()
    return None if budget is None else budget[0] - time.monotonic()


def budget_check() -> None:
    """BudgetExceeded if the current budget is spent; nothing without one."""
    budget = _budget.get()
    if budget is not None and time.monotonic() >= budget[0]:
        raise BudgetExceeded(budget[1])
