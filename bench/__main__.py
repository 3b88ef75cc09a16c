"""``python -m bench [NAME...]``: run all benchmarks or the named ones.

A benchmark is a module ``bench/bench_<name>.py`` exposing ``run()``, which
returns (or yields) result dicts (see :mod:`bench.common`). Each is printed as
one JSON line and appended to ``bench/results.jsonl``. A benchmark whose
import needs Odoo where Odoo is missing is reported as skipped.

Exit status: 0 when every benchmark ran (met or not, unless ``--strict``),
1 when one crashed, 2 for an unknown name.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback

from bench.common import BENCH_DIR, emit, skipped


def discover():
    """Names of the available benchmarks, sorted."""
    return sorted(path.stem[len("bench_") :] for path in BENCH_DIR.glob("bench_*.py"))


def run_one(name, save=True):
    """Run one benchmark; return (records emitted, crashed)."""
    options = {} if save else {"path": None}
    try:
        module = importlib.import_module(f"bench.bench_{name}")
    except ImportError as error:
        missing = (error.name or "").split(".")[0]
        if missing == "odoo":
            return [emit(skipped(name, f"needs Odoo: {error}"), **options)], False
        traceback.print_exc()
        return [
            emit({"bench": name, "error": f"import failed: {error}"}, **options)
        ], True
    records = []
    try:
        for record in module.run() or ():
            records.append(emit(record, **options))
    except Exception as error:
        traceback.print_exc()
        records.append(emit({"bench": name, "error": repr(error)}, **options))
        return records, True
    return records, False


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks")
    parser.add_argument(
        "--no-save", action="store_true", help="do not append to bench/results.jsonl"
    )
    parser.add_argument(
        "--strict", action="store_true", help="exit 1 when a target is not met"
    )
    args = parser.parse_args(argv)
    available = discover()
    if args.list:
        sys.stdout.write("\n".join(available) + "\n")
        return 0
    unknown = [name for name in args.names if name not in available]
    if unknown:
        sys.stderr.write(
            f"unknown benchmark(s): {', '.join(unknown)}; "
            f"available: {', '.join(available)}\n"
        )
        return 2
    crashed = unmet = False
    for name in args.names or available:
        records, failed = run_one(name, save=not args.no_save)
        crashed |= failed
        unmet |= any(record.get("met") is False for record in records)
    if crashed or (args.strict and unmet):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
