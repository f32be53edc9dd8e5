"""
Run the benchmark suite, print a table of ratios and write it as JSON.

    python benchmarks/run.py                       # every benchmark, full size
    python benchmarks/run.py --size small check    # some benchmarks, smaller
    PERMISSION_NETWORKING_BENCH_SIZE=small nox -s bench

`nox -s bench` runs this with its arguments. Sizes: ``full`` (what the
targets are stated for; a few minutes), ``small`` and ``tiny`` (proves the
code runs; the test suite uses it). The report goes to
``benchmarks/results.json`` unless ``--json`` says otherwise.
"""

from __future__ import annotations

import argparse
import sys
import time

from collections.abc import Callable, Sequence
from pathlib import Path

from bench_check import flat_history, peers
from bench_postgres import postgres
from bench_replay import folds
from bench_screen import screening
from bench_store import store
from harness import SIZE_VARIABLE, SIZES, Row, Size, size_named, table, write_json


BENCHMARKS: dict[str, Callable[[Size], list[Row]]] = {
    "check": peers,
    "history": flat_history,
    "replay": folds,
    "screen": screening,
    "sqlite": store,
    "postgres": postgres,
}
"""
Every benchmark by name, in the order they run.
"""


def run(names: Sequence[str], size: Size, *, progress: bool = False) -> list[Row]:
    """
    Run the benchmarks called *names* (all when empty) at *size*; return their rows.
    """
    rows: list[Row] = []
    for name in names or BENCHMARKS:
        if progress:
            print(f"running {name} ({size.name}) ...", file=sys.stderr, flush=True)
        start = time.perf_counter()
        rows.extend(BENCHMARKS[name](size))
        if progress:
            print(f"  {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """
    Parse the command line, run, print the table and write the JSON report.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].strip())
    parser.add_argument("names", nargs="*", help=f"benchmarks to run: {', '.join(BENCHMARKS)}")
    parser.add_argument("--size", choices=list(SIZES), help=f"default: ${SIZE_VARIABLE}, else full")
    parser.add_argument(
        "--json",
        type=Path,
        default=Path(__file__).with_name("results.json"),
        help="where to write the report (default: benchmarks/results.json)",
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark {unknown[0]!r}; choose from {', '.join(BENCHMARKS)}")
    size = size_named(args.size)
    rows = run(args.names, size, progress=True)
    print(table(rows))
    write_json(args.json, size, rows)
    print(f"\nwritten to {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
