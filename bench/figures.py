"""One figure of the benchmark: a measurement, its baseline, their ratio and the goal."""

import statistics
from dataclasses import dataclass, field


@dataclass
class Figure:
    """One row of the table: a measurement, its baseline, their ratio and the goal."""

    name: str
    size: int
    unit: str  # "ms" (lower is better) or "/s" (higher is better)
    measured: list[float]
    baseline: list[float] = field(default_factory=list)
    baseline_name: str = ""
    goal: str = ""
    note: str = ""

    @classmethod
    def against(
        cls,
        name: str,
        size: int,
        unit: str,
        runs: list[tuple[float, float]],
        *,
        baseline_name: str,
        goal: str,
        note: str = "",
    ) -> "Figure":
        """A figure from one (measured, baseline) pair per run."""
        measured = [value for value, _ in runs]
        baseline = [value for _, value in runs]
        return cls(name, size, unit, measured, baseline, baseline_name, goal, note)

    @property
    def ratio(self) -> float | None:
        if not self.measured or not self.baseline:
            return None
        return statistics.median(self.measured) / statistics.median(self.baseline)

    @property
    def met(self) -> bool | None:
        ratio = self.ratio
        if ratio is None or not self.goal:
            return None
        sign, value = self.goal.split()
        return ratio <= float(value) if sign == "≤" else ratio >= float(value)
