"""Post a settlement with 150,000 cost lines over 2,000 SKUs: the settlement
entry and the COGS entry built as vals lists, created and posted, every
cost line linked to its journal item (DESIGN §10: <= 15 s)."""

from __future__ import annotations

import io
import os
import random

from bench.common import Stopwatch, odoo_missing, peak_rss_mb, reset_peak_rss, result

COST_LINES = int(os.environ.get("BENCH_POST_COST_LINES", 150_000))
SKUS = 2_000
TARGET_SECONDS = 15.0


def _settlement(env, store):
    settlement = env["connectbooks.settlement"].create(
        {
            "store_id": store.id,
            "settlement_ref": "BENCH-POST",
            "currency_id": store.currency_id.id,
            "deposit_date": "2025-01-15",
            "total_amount": 1000.0,
        }
    )
    env["connectbooks.settlement.line"].create(
        {
            "settlement_id": settlement.id,
            "kind": "order",
            "transaction_type": "Order",
            "amount_type": "ItemPrice",
            "amount_description": "Principal",
            "amount": 1000.0,
        }
    )
    env.flush_all()
    rng = random.Random(7)
    buffer = io.StringIO()
    for index in range(COST_LINES):
        refund = index % 20 == 0
        quantity = rng.randint(1, 4)
        unit = round(rng.uniform(0.5, 40.0), 4)
        total = round(quantity * unit + 1e-9, 2) * (-1 if refund else 1)
        buffer.write(
            f"{settlement.id},"
            f"{'refund' if refund else 'order'},O-{index},,SKU-{index % SKUS:05d},"
            f"2025-01-10,{quantity},{-1 if refund else 1},costed,goflow,{unit},"
            f"{total},0,2025-01-15 00:00:00\n"
        )
    buffer.seek(0)
    env.cr.copy_expert(
        "COPY goflow_cost_line (settlement_id, kind, "
        "order_ref, adjustment_ref, sku, posted_date, quantity, sign, state, "
        "source, unit_cost, total_cost, posted_total, synced_at) "
        "FROM STDIN WITH (FORMAT csv)",
        buffer,
    )
    env.invalidate_all()
    settlement.modified(["cost_line_ids"])
    env.flush_all()
    return settlement


def run():
    reason = odoo_missing()
    if reason:
        return [{"bench": "post_cogs", "skipped": reason}]
    from bench.odoo_env import make_store, odoo_env  # noqa: PLC0415

    with odoo_env("cbg_bench_post") as env:
        store = make_store(env)
        settlement = _settlement(env, store)
        reset_peak_rss()
        with Stopwatch() as watch:
            settlement.action_post()
            env.flush_all()
        items = len(settlement.cogs_move_ids.line_ids)
        linked = env["goflow.cost.line"].search_count(
            [("settlement_id", "=", settlement.id), ("cogs_move_line_id", "!=", False)]
        )
    return [
        result(
            "post_cogs",
            watch.seconds,
            cost_lines=COST_LINES,
            skus=SKUS,
            journal_items=items,
            linked_cost_lines=linked,
            peak_rss_mb=peak_rss_mb(),
            target=f"<= {TARGET_SECONDS:g} s, every cost line linked",
            met=watch.seconds <= TARGET_SECONDS and linked == COST_LINES,
        )
    ]
