"""
Racing spawned processes against one ledger, shared by the store tests.
"""

from __future__ import annotations

import multiprocessing

from collections.abc import Callable, Sequence
from typing import Any


def race(target: Callable[..., None], arguments: Sequence[tuple[Any, ...]]) -> list[Any]:
    """
    Run *target* once per arguments in spawned processes that start together; return their results.
    """
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(len(arguments))
    results = context.Queue()
    processes = [context.Process(target=target, args=(*args, start, results)) for args in arguments]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    assert [0] * len(processes) == [process.exitcode for process in processes]
    return [results.get() for _ in processes]
