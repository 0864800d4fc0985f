"""What a bench run leaves: the table (results.md, also printed), results.json and the plot.

The plot goes to bench/results/bench.png (not tracked), never into docs/: a quick
run must not rewrite the figure the docs show. To publish a run's plot, copy it to
docs/bench.png by hand and commit it with the numbers; `--replot` redraws it from a
saved results.json.
"""

import json
import statistics
from dataclasses import asdict
from pathlib import Path

from bench.environment import RESULTS, WORKERS
from bench.figures import Figure


def spread(values: list[float], unit: str) -> str:
    """The median and the min–max range, with as many digits as the size calls for."""
    if not values:
        return "n/a"
    digits = 0 if max(values) >= 100 else 1 if max(values) >= 10 else 2
    median = statistics.median(values)
    return f"{median:,.{digits}f} {unit} ({min(values):,.{digits}f}–{max(values):,.{digits}f})"


def table(figures: list[Figure]) -> str:
    lines = [
        "| figure | cases | measured: median (min–max) | baseline: median (min–max) "
        "| ratio | goal | met | note |",
        "|---|--:|--:|--:|--:|--:|:-:|---|",
    ]
    for figure in figures:
        ratio = figure.ratio
        met = {True: "yes", False: "**no**", None: ""}[figure.met]
        measured = spread(figure.measured, figure.unit) if figure.measured else "n/a"
        baseline = (
            f"{spread(figure.baseline, figure.unit)} {figure.baseline_name}"
            if figure.baseline
            else ""
        )
        lines.append(
            f"| {figure.name} | {figure.size:,} | {measured} | {baseline} | "
            f"{'' if ratio is None else f'{ratio:.2f}'} | {figure.goal} | {met} | {figure.note} |"
        )
    return "\n".join(lines)


def render(figures, synth, machine, minutes, runs: int, seconds: int) -> str:
    """The whole report: the machine, the server, how the registries were built, the table."""
    built = [
        f"{size:,}: built in {info['seconds']:,.0f} s ({info['cases_per_second']:,.0f} cases/s)"
        if info["seconds"] is not None
        else f"{size:,}: reused"
        for size, info in synth.items()
    ]
    return "\n".join(
        [
            f"Machine: {machine['summary']}.",
            f"Server: gunicorn, {WORKERS} sync workers, DEBUG off, on 127.0.0.1; "
            f"{runs} runs per figure (wrk: {seconds} s each). "
            f"Synthetic registries ({'; '.join(built)}). Whole run: {minutes:.1f} min.",
            "",
            table(figures),
            "",
        ]
    )


def write(figures: list[Figure], synth, machine, minutes, runs: int, seconds: int) -> str:
    """results.md, results.json and the plot in bench/results/ (the plot also in docs/).

    Returns the report, for the terminal.
    """
    report = render(figures, synth, machine, minutes, runs, seconds)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "results.md").write_text(report)
    (RESULTS / "results.json").write_text(
        json.dumps(
            {
                "machine": machine,
                "minutes": minutes,
                "synth": synth,
                "figures": [asdict(figure) | {"ratio": figure.ratio} for figure in figures],
            },
            indent=2,
        )
    )
    plot_results(figures)
    return report


def replot() -> None:
    """Redraw the plot from bench/results/results.json."""
    saved = json.loads((RESULTS / "results.json").read_text())["figures"]
    plot_results([Figure(**{k: v for k, v in f.items() if k != "ratio"}) for f in saved])


def plot_results(figures: list[Figure]) -> None:
    plot(figures, RESULTS / "bench.png")


def plot(figures: list[Figure], path: Path) -> None:
    """Ratios to the baselines on the left, list page latency on the right, against size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    ratios = [f for f in figures if f.baseline]
    latencies = [f for f in figures if not f.baseline and f.measured]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8))
    for name in dict.fromkeys(f.name for f in ratios):
        points = [(f.size, f.ratio) for f in ratios if f.name == name]
        left.plot(*zip(*points, strict=True), marker="o", label=name)
    for goal, style, text in (
        (1.0, ":", "stats goal ≤ 1.0"),
        (0.3, "--", "POST goal ≥ 0.30"),
        (0.25, "-.", "batch goal ≥ 0.25"),
    ):
        left.axhline(goal, color="grey", linestyle=style, linewidth=0.8)
        left.annotate(
            text,
            (0.01, goal),
            xycoords=("axes fraction", "data"),
            fontsize=7,
            color="grey",
            va="bottom",
        )
    left.set(xscale="log", yscale="log", xlabel="cases in the registry", ylabel="ratio to baseline")
    left.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    left.set_title("Each figure ÷ its physical limit (higher is better, except stats)")
    left.legend(fontsize=7)
    for name in dict.fromkeys(f.name for f in latencies):
        points = [(f.size, statistics.median(f.measured)) for f in latencies if f.name == name]
        right.plot(*zip(*points, strict=True), marker="o", label=name)
    right.set(xscale="log", yscale="log", xlabel="cases in the registry", ylabel="median ms")
    right.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    right.yaxis.set_minor_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    right.set_title("List page latency")
    right.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
