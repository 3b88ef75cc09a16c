"""Helpers shared by the benchmarks.

Every benchmark result is one JSON object: ``bench`` (name), ``seconds``, the
size of the work (``rows``, ``orders``, ``requests``...), ``peak_rss_mb`` where
memory matters, ``baseline_seconds`` and ``ratio`` where a baseline was
measured in the same run, the ``target`` (text) and ``met`` (bool). A
benchmark that cannot run here returns ``{"bench": ..., "skipped": reason}``.
:func:`emit` prints it as one line and appends it to ``bench/results.jsonl``.
"""

from __future__ import annotations

import importlib
import json
import resource
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_PATH = BENCH_DIR / "results.jsonl"


def result(bench, seconds, *, target, met, baseline_seconds=None, **fields):
    """A result record in the common field order.

    :param fields: the size of the work and anything else worth keeping
        (``orders=..., requests=..., peak_rss_mb=...``)
    """
    record = {"bench": bench, "seconds": round(seconds, 3)}
    record.update(fields)
    if baseline_seconds is not None:
        record["baseline_seconds"] = round(baseline_seconds, 3)
        record["ratio"] = (
            round(seconds / baseline_seconds, 3) if baseline_seconds else None
        )
    record["target"] = target
    record["met"] = bool(met)
    return record


def skipped(bench, reason):
    """The record of a benchmark that cannot run here (e.g. no Odoo)."""
    return {"bench": bench, "skipped": reason}


def emit(record, *, path=RESULTS_PATH, stream=None):
    """Print ``record`` as one JSON line and append it to ``results.jsonl``."""
    stamped = dict(record)
    stamped.setdefault("at", datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    line = json.dumps(stamped, default=str)
    out = stream or sys.stdout
    out.write(line + "\n")
    out.flush()
    if path is not None:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
    return stamped


def odoo_missing():
    """``None`` when Odoo can be imported, else the reason it cannot."""
    try:
        importlib.import_module("odoo")
    except ImportError as error:
        return f"Odoo is not importable here ({error})"
    return None


class Stopwatch:
    """``with Stopwatch() as watch: ...`` then ``watch.seconds``."""

    def __enter__(self):
        self.started = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc_info):
        self.seconds = time.perf_counter() - self.started


def reset_peak_rss():
    """Start a new peak-memory measurement for this process (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def _status_mb(pid, key):
    """A memory figure of ``/proc/<pid>/status`` in MB, or None (not Linux)."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith(key):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def rss_mb(pid="self"):
    """Resident memory in MB of this process (or of ``pid``) now, on Linux."""
    return _status_mb(pid, "VmRSS:")


def peak_rss_mb(pid="self"):
    """Peak resident memory in MB of this process (or of ``pid``, on Linux)."""
    peak = _status_mb(pid, "VmHWM:")
    if peak is None and pid == "self":
        return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return peak
