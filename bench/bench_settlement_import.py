"""Import a 1,000,000-row Amazon V2 settlement (~150,000 orders) through the
import wizard's code path into a fresh database, against a plain PostgreSQL
``COPY`` of the same rows measured in the same run (DESIGN §10: <= 60 s and
<= 5x the COPY).

The store's products exist (one per SKU of the file), as in a real company,
so the import matches them. The baseline is a ``COPY`` of the rows as the
import stored them into an equivalent plain table: an ordinary table with
the line table's columns and neither index nor constraint. For reference
the run also times the same ``COPY`` into a temporary table (no WAL, local
buffers), the raw file into a table of text columns, and the rows into the
add-on's own line table (its keys and foreign key)."""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

from bench.common import Stopwatch, odoo_missing, peak_rss_mb, reset_peak_rss, result
from tools.settlement_generator import write_settlement

LINE_COLUMNS = (
    "settlement_id, line_no, transaction_type, kind, order_ref, "
    "merchant_order_ref, adjustment_ref, shipment_ref, order_item_code, sku, "
    "quantity, amount_type, amount_description, amount, posted_date, "
    "fulfillment, marketplace_name, promotion_ref"
).split(", ")

ORDERS = int(os.environ.get("BENCH_IMPORT_ORDERS", 153_000))
TARGET_SECONDS = 60.0
TARGET_RATIO = 5.0


def _copy_baselines(env, path, settlement):
    """Seconds of four COPYs of the rows the import stored (see the module's
    docstring): ``plain`` (the baseline), ``temp``, ``raw`` and ``line_table``."""
    cr = env.cr
    columns = ", ".join(LINE_COLUMNS)
    rows = io.BytesIO()
    cr.copy_expert(
        f"COPY (SELECT {columns} FROM connectbooks_settlement_line "
        f"WHERE settlement_id = {int(settlement.id)}) TO STDOUT WITH (FORMAT csv)",
        rows,
    )
    seconds = {}
    for name, kind in (("plain", ""), ("temp", "TEMP")):
        table = f"bench_lines_{name}"
        cr.execute(
            f"CREATE {kind} TABLE {table} AS "
            "SELECT * FROM connectbooks_settlement_line WITH NO DATA"
        )
        rows.seek(0)
        with Stopwatch() as watch:
            cr.copy_expert(
                f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv)", rows
            )
        seconds[name] = watch.seconds
    # The same rows into the add-on's own line table, under a second
    # settlement: the floor for this table.
    other = env["connectbooks.settlement"].create(
        {
            "store_id": settlement.store_id.id,
            "settlement_ref": "BENCH-FLOOR",
            "currency_id": settlement.currency_id.id,
        }
    )
    env.flush_all()
    prefix = f"{settlement.id},".encode()
    retagged = io.BytesIO(
        b"\n".join(
            f"{other.id},".encode() + line[len(prefix) :]
            for line in rows.getvalue().splitlines()
        )
    )
    with Stopwatch() as watch:
        cr.copy_expert(
            f"COPY connectbooks_settlement_line ({columns}) FROM STDIN "
            "WITH (FORMAT csv)",
            retagged,
        )
    seconds["line_table"] = watch.seconds
    with open(path, "rb") as handle:
        names = handle.readline().decode().rstrip("\r\n").split("\t")
    cr.execute(
        "CREATE TEMP TABLE bench_raw ("
        + ", ".join(f'"{name}" text' for name in names)
        + ")"
    )
    with open(path, "rb") as handle, Stopwatch() as watch:
        cr.copy_expert(
            "COPY bench_raw FROM STDIN WITH (FORMAT csv, DELIMITER E'\\t', "
            "HEADER true, QUOTE E'\\x01')",
            handle,
        )
    seconds["raw"] = watch.seconds
    return seconds


def _make_products(env, skus):
    """One product per SKU, its internal reference the SKU."""
    env["product.product"].create(
        [{"name": f"Bench {sku}", "default_code": sku} for sku in sorted(skus)]
    )
    env.flush_all()


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
            _make_products(env, generated.skus)
            reset_peak_rss()
            with open(path, "rb") as handle, Stopwatch() as watch:
                settlement = env["connectbooks.settlement.import"]._import_file(
                    store, handle, path.name
                )
                env.flush_all()
            rss = peak_rss_mb()
            rows = settlement.line_count
            cost_lines = len(settlement.cost_line_ids)
            matched = len(settlement.cost_line_ids.filtered("product_id"))
            copies = _copy_baselines(env, path, settlement)
    baseline = copies["plain"]
    ratio_met = watch.seconds <= TARGET_RATIO * baseline
    return [
        result(
            "settlement_import",
            watch.seconds,
            rows=rows,
            orders=getattr(generated, "orders", ORDERS),
            cost_lines=cost_lines,
            cost_lines_with_product=matched,
            products=len(generated.skus),
            temp_table_copy_seconds=round(copies["temp"], 3),
            ratio_to_temp_table_copy=round(watch.seconds / copies["temp"], 2),
            raw_file_copy_seconds=round(copies["raw"], 3),
            line_table_copy_seconds=round(copies["line_table"], 3),
            ratio_to_line_table_copy=round(watch.seconds / copies["line_table"], 2),
            peak_rss_mb=rss,
            baseline_seconds=baseline,
            target=(
                f"<= {TARGET_SECONDS:g} s and <= {TARGET_RATIO:g}x a COPY of the "
                "same rows into an equivalent plain table (ordinary table, no "
                "index, no constraint)"
            ),
            met=watch.seconds <= TARGET_SECONDS and ratio_met,
        )
    ]
