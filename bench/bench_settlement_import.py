"""Import a 1,000,000-row Amazon V2 settlement (~150,000 orders) through the
import wizard's code path into a fresh database, against a plain PostgreSQL
``COPY`` of the same rows measured in the same run (DESIGN §10: <= 60 s and
<= 5x the COPY)."""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

from bench.common import Stopwatch, odoo_missing, peak_rss_mb, reset_peak_rss, result
from tools.settlement_generator import write_settlement

LINE_COLUMNS = (
    "settlement_id, company_id, line_no, transaction_type, kind, order_ref, "
    "merchant_order_ref, adjustment_ref, shipment_ref, order_item_code, sku, "
    "product_id, quantity, amount_type, amount_description, amount, posted_date, "
    "fulfillment, marketplace_name, promotion_ref, create_date, write_date"
).split(", ")

ORDERS = int(os.environ.get("BENCH_IMPORT_ORDERS", 153_000))
TARGET_SECONDS = 60.0
TARGET_RATIO = 5.0


def _copy_baselines(env, path, settlement):
    """COPY the same rows (a) as the import wrote them into an equivalent
    plain table (the line table's columns, no index, no foreign key), and
    (b) the raw file into a table of text columns: the floors of any
    import."""
    cr = env.cr
    columns = ", ".join(LINE_COLUMNS)
    rows = io.BytesIO()
    cr.copy_expert(
        f"COPY (SELECT {columns} FROM connectbooks_settlement_line "
        f"WHERE settlement_id = {int(settlement.id)}) TO STDOUT WITH (FORMAT csv)",
        rows,
    )
    cr.execute(
        "CREATE TEMP TABLE bench_lines AS "
        "SELECT * FROM connectbooks_settlement_line WITH NO DATA"
    )
    rows.seek(0)
    with Stopwatch() as typed:
        cr.copy_expert(
            f"COPY bench_lines ({columns}) FROM STDIN WITH (FORMAT csv)", rows
        )
    # (c) the same rows into the add-on's own line table (its foreign keys
    # and indexes), under a second settlement: the floor for this table
    other = env["connectbooks.settlement"].create(
        {
            "store_id": settlement.store_id.id,
            "settlement_ref": "BENCH-FLOOR",
            "currency_id": settlement.currency_id.id,
        }
    )
    env.flush_all()
    rows.seek(0)
    prefix = f"{settlement.id},".encode()
    retagged = io.BytesIO(
        b"\n".join(
            f"{other.id},".encode() + line[len(prefix) :]
            for line in rows.getvalue().splitlines()
        )
    )
    with Stopwatch() as real:
        cr.copy_expert(
            f"COPY connectbooks_settlement_line ({columns}) FROM STDIN "
            "WITH (FORMAT csv)",
            retagged,
        )
    with open(path, "rb") as handle:
        names = handle.readline().decode().rstrip("\r\n").split("\t")
    cr.execute(
        "CREATE TEMP TABLE bench_raw ("
        + ", ".join(f'"{name}" text' for name in names)
        + ")"
    )
    with open(path, "rb") as handle, Stopwatch() as raw:
        cr.copy_expert(
            "COPY bench_raw FROM STDIN WITH (FORMAT csv, DELIMITER E'\\t', "
            "HEADER true, QUOTE E'\\x01')",
            handle,
        )
    return typed.seconds, raw.seconds, real.seconds


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
            baseline, raw_copy, real_copy = _copy_baselines(env, path, settlement)
    ratio_met = watch.seconds <= TARGET_RATIO * baseline
    return [
        result(
            "settlement_import",
            watch.seconds,
            rows=rows,
            orders=getattr(generated, "orders", ORDERS),
            cost_lines=cost_lines,
            raw_file_copy_seconds=round(raw_copy, 3),
            line_table_copy_seconds=round(real_copy, 3),
            ratio_to_line_table_copy=round(watch.seconds / real_copy, 2),
            peak_rss_mb=rss,
            baseline_seconds=baseline,
            target=(
                f"<= {TARGET_SECONDS:g} s and <= {TARGET_RATIO:g}x a COPY of the "
                "same rows into an equivalent plain table"
            ),
            met=watch.seconds <= TARGET_SECONDS and ratio_met,
        )
    ]
