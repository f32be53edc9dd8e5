"""
The measuring harness shared by the benchmarks: interleaved timing, sizes, result rows.

Every benchmark reports ratios against something measured in the same
process run, because the machines are shared and noisy: candidates are timed
in interleaved rounds (A, B, C, A, B, C, ...), so a slow spell of the machine
hits all of them alike, and the median of the rounds is kept.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import timeit

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


SIZE_VARIABLE = "PERMISSION_NETWORKING_BENCH_SIZE"
"""
The environment variable that picks the size when ``--size`` is not given.
"""


@dataclass(frozen=True)
class Size:
    """
    How big each benchmark runs: ``full`` is what the targets are stated for.
    """

    name: str
    rounds: int
    round_seconds: float
    history: tuple[int, ...]
    replay: tuple[int, ...]
    audience: int
    store_interactions: int
    store_pairs: int
    store_batch: int


SIZES: Mapping[str, Size] = {
    "full": Size(
        name="full",
        rounds=15,
        round_seconds=0.02,
        history=(10, 1_000, 100_000),
        replay=(10, 100, 1_000, 10_000, 100_000),
        audience=1_000_000,
        store_interactions=1_000_000,
        store_pairs=100_000,
        store_batch=1_000,
    ),
    "small": Size(
        name="small",
        rounds=7,
        round_seconds=0.01,
        history=(10, 1_000, 10_000),
        replay=(10, 100, 1_000, 10_000),
        audience=100_000,
        store_interactions=100_000,
        store_pairs=10_000,
        store_batch=1_000,
    ),
    "tiny": Size(
        name="tiny",
        rounds=1,
        round_seconds=0.0,
        history=(10, 100),
        replay=(10, 100),
        audience=500,
        store_interactions=400,
        store_pairs=40,
        store_batch=100,
    ),
}
"""
The sizes by name; ``tiny`` only proves that the benchmark code runs.
"""


def size_named(name: str | None) -> Size:
    """
    Return the size called *name*, else the one the environment names, else ``full``.
    """
    chosen = name or os.environ.get(SIZE_VARIABLE) or "full"
    try:
        return SIZES[chosen]
    except KeyError:
        msg = f"unknown size {chosen!r}; choose one of {', '.join(SIZES)}"
        raise SystemExit(msg) from None


@dataclass
class Row:
    """
    One measured line of the report.

    Attributes:
        group: The benchmark, e.g. ``check vs peers``.
        case: What was measured, e.g. ``message on engaged (allowed)``.
        value: The measured number, in *unit*.
        unit: ``us`` per call, ``/s`` for a rate, ``B`` for bytes.
        ratio: *value* relative to *baseline* measured in the same run, if any.
        baseline: What the ratio is relative to.
        target: The target for the ratio (or the value), in words, if there is one.
        met: Whether the target is met; None when there is no target.
    """

    group: str
    case: str
    value: float
    unit: str
    ratio: float | None = None
    baseline: str | None = None
    target: str | None = None
    met: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _calibrate(timer: timeit.Timer, seconds: float) -> int:
    number = 1
    while True:
        if timer.timeit(number) >= seconds or number >= 1 << 24:
            return number
        number *= 4


def compare(
    statements: Mapping[str, str],
    namespace: dict[str, Any],
    size: Size,
) -> dict[str, float]:
    """
    Time each statement per execution, interleaved over rounds; return the medians in seconds.

    The statements run with the garbage collector enabled, as in real use,
    so allocation-heavy code pays for its collections.
    """
    timers = {
        name: timeit.Timer(stmt, setup="gc.enable()", globals={"gc": __import__("gc"), **namespace})
        for name, stmt in statements.items()
    }
    numbers = {name: _calibrate(timer, size.round_seconds) for name, timer in timers.items()}
    samples: dict[str, list[float]] = {name: [] for name in timers}
    for _ in range(size.rounds):
        for name, timer in timers.items():
            samples[name].append(timer.timeit(numbers[name]) / numbers[name])
    return {name: statistics.median(values) for name, values in samples.items()}


def time_once(function: Callable[[], object], size: Size) -> float:
    """
    Return the median wall time in seconds of calling *function*, over the size's rounds.
    """
    timer = timeit.Timer(function, setup="gc.enable()", globals={"gc": __import__("gc")})
    return statistics.median(timer.repeat(repeat=max(size.rounds // 3, 1), number=1))


def micro(seconds: float) -> float:
    """
    Return *seconds* in microseconds.
    """
    return seconds * 1e6


def environment() -> dict[str, Any]:
    """
    Describe where the benchmarks ran, for the JSON report.
    """
    import permission_networking  # noqa: PLC0415

    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "machine": platform.machine(),
        "system": platform.system(),
        "cpus": os.cpu_count(),
        "package": str(Path(permission_networking.__file__).parent),
    }


def _number(value: float) -> str:
    if value >= 1e5:
        return f"{value:,.0f}"
    if value >= 100:
        return f"{value:.0f}"
    return f"{value:.3g}"


def table(rows: Sequence[Row]) -> str:
    """
    Return *rows* as a plain-text table, grouped by benchmark.
    """
    head = ("case", "value", "unit", "ratio", "vs", "target", "met")
    lines: list[tuple[str, ...]] = []
    group = None
    for row in rows:
        if row.group != group:
            group = row.group
            lines.append((f"[{group}]", "", "", "", "", "", ""))
        lines.append(
            (
                f"  {row.case}",
                _number(row.value),
                row.unit,
                "" if row.ratio is None else f"{row.ratio:.2f}",
                row.baseline or "",
                row.target or "",
                "" if row.met is None else ("yes" if row.met else "NO"),
            )
        )
    widths = [max(len(line[i]) for line in [head, *lines]) for i in range(len(head))]
    out = ["  ".join(cell.ljust(width) for cell, width in zip(head, widths, strict=True))]
    out.append("  ".join("-" * width for width in widths))
    out.extend(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )
    return "\n".join(out)


def write_json(path: Path, size: Size, rows: Sequence[Row]) -> None:
    """
    Write the report: the environment, the size and every row.
    """
    report = {"environment": environment(), "size": asdict(size), "rows": [asdict(r) for r in rows]}
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
