"""`make bench`: run every benchmark module's `run()` and print one table of their figures.

Benchmarks print figures; they never fail the build. `python -m bench NAME...` runs some.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
import traceback
from pathlib import Path


def modules(selected: list[str]) -> list[str]:
    names = sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if m.name.startswith("bench_"))
    if selected:
        names = [n for n in names if n in selected or n.removeprefix("bench_") in selected]
    return names


def main(argv: list[str]) -> None:
    rows: list[tuple[str, str, str]] = []
    for name in modules(argv):
        started = time.perf_counter()
        print(f"== {name}", flush=True)
        try:
            figures = importlib.import_module(f"bench.{name}").run()
        except Exception:
            traceback.print_exc()
            rows.append((name, "error", "see the traceback above"))
            continue
        took = time.perf_counter() - started
        for key, value in figures.items():
            rows.append((name.removeprefix("bench_"), key, f"{value:,.3f}" if value < 100 else f"{value:,.0f}"))
        rows.append((name.removeprefix("bench_"), "(seconds to run)", f"{took:.1f}"))
    width = [max(len(r[i]) for r in rows) for i in range(3)] if rows else [0, 0, 0]
    print()
    print(f"{'benchmark':<{width[0]}}  {'figure':<{width[1]}}  {'value':>{width[2]}}")
    print(f"{'-' * width[0]}  {'-' * width[1]}  {'-' * width[2]}")
    for bench, key, value in rows:
        print(f"{bench:<{width[0]}}  {key:<{width[1]}}  {value:>{width[2]}}")


if __name__ == "__main__":
    main(sys.argv[1:])
