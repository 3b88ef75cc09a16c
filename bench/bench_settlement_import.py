"""Import a 1,000,000-row Amazon V2 settlement (~150,000 orders) through the
import wizard's code path into a fresh database, against a plain PostgreSQL
``COPY`` of the same rows measured in the same run (DESIGN §10: <= 60 s and
<= 5x the COPY)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from bench.common import Stopwatch, odoo_missing, peak_rss_mb, reset_peak_rss, result
from tools.settlement_generator import write_settlement

ORDERS = int(os.environ.get("BENCH_IMPORT_ORDERS", 153_000))
TARGET_SECONDS = 60.0
TARGET_RATIO = 5.0


def _copy_baseline(env, path):
    """COPY the file's rows into an equivalent plain table (no index, no
    constraint): the floor of any import."""
    cr = env.cr
    with open(path, "rb") as handle:
        columns = handle.readline().decode().rstrip("\r\n").split("\t")
    cr.execute(
        "CREATE TEMP TABLE bench_copy ("
        + ", ".join(f'"{name}" text' for name in columns)
        + ")"
    )
    with open(path, "rb") as handle, Stopwatch() as watch:
        cr.copy_expert(
            "COPY bench_copy FROM STDIN WITH (FORMAT csv, DELIMITER E'\\t', "
            "HEADER true, QUOTE E'\\x01')",
            handle,
        )
    cr.execute("SELECT count(*) FROM bench_copy")
    return watch.seconds, cr.fetchone()[0]


def run():
    reason = odoo_missing()
    if reason:
        return [{"bench": "settlement_import", "skipped": reason}]
    from bench.odoo_env import make_store, odoo_env  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="cbg-bench-import-") as tmp:
        path = Path(tmp) / "settlement_v2.txt"
        generated = write_settlement(str(path), orders=ORDERS, seed=1)
        with odoo_env("cbg_bench_import") as env:
            store = make_store(env)
            env.flush_all()
            reset_peak_rss()
            with open(path, "rb") as handle, Stopwatch() as watch:
                settlement = env["connectbooks.settlement.import"]._import_file(
                    store, handle, path.name
                )
                env.flush_all()
            rss = peak_rss_mb()
            rows = settlement.line_count
            cost_lines = len(settlement.cost_line_ids)
            baseline, copied = _copy_baseline(env, path)
    ratio_met = watch.seconds <= TARGET_RATIO * baseline
    return [
        result(
            "settlement_import",
            watch.seconds,
            rows=rows,
            orders=getattr(generated, "orders", ORDERS),
            cost_lines=cost_lines,
            copied_rows=copied,
            peak_rss_mb=rss,
            baseline_seconds=baseline,
            target=f"<= {TARGET_SECONDS:g} s and <= {TARGET_RATIO:g}x COPY",
            met=watch.seconds <= TARGET_SECONDS and ratio_met,
        )
    ]
