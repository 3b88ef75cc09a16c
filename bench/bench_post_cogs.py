"""Post a settlement with 150,000 cost lines over 2,000 SKUs: the settlement
entry and the COGS entry built as vals lists, created and posted, every
cost line linked to its journal item; against the same rows written raw in
the same run.

The baseline writes what the post wrote, without the ORM: the COGS entry's
journal items (read back after the post) inserted by one ``INSERT`` into a
plain table with the columns of ``account_move_line`` that they use (typed
the same, a primary key, no other index nor constraint), and every cost
line's link to its item and booked total set by one ``UPDATE ... FROM
(VALUES ...)``, as the post does (its foreign key checked). Before each
baseline run the links are cleared (untimed) so that it changes them from
nothing, as the post did. ``baseline_seconds`` is the median of
``BASELINE_RUNS``. Target: the post <= 4 x the baseline, every cost line
linked.

``BENCH_POST_COST_LINES`` lowers the size.
"""

from __future__ import annotations

import io
import os
import random
import statistics

from bench.common import Stopwatch, odoo_missing, peak_rss_mb, reset_peak_rss, result

COST_LINES = int(os.environ.get("BENCH_POST_COST_LINES", 150_000))
SKUS = 2_000
TARGET_RATIO = 4.0
BASELINE_RUNS = 3


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


def _used_columns(cr, move_id):
    """Columns of ``account_move_line`` that the items of ``move_id`` fill,
    with their SQL types (``id`` aside)."""
    cr.execute(
        """
        SELECT column_name, data_type
          FROM information_schema.columns
         WHERE table_name = 'account_move_line' AND column_name <> 'id'
         ORDER BY ordinal_position
        """
    )
    columns = cr.fetchall()
    counts = ", ".join(f'COUNT("{name}")' for name, _type in columns)
    cr.execute(f"SELECT {counts} FROM account_move_line WHERE move_id = %s", [move_id])
    filled = cr.fetchone()
    return [column for column, count in zip(columns, filled, strict=True) if count]


def _baseline(env, settlement):
    """Seconds of the raw writes (median of :data:`BASELINE_RUNS`), and the
    number of columns of the plain table."""
    from psycopg2.extras import execute_values  # noqa: PLC0415 (with Odoo)

    cr = env.cr
    move = settlement.cogs_move_ids
    columns = _used_columns(cr, move.id)
    names = ", ".join(f'"{name}"' for name, _type in columns)
    cr.execute(
        f"SELECT {names} FROM account_move_line WHERE move_id = %s ORDER BY id",
        [move.id],
    )
    items = cr.fetchall()
    cr.execute(
        "SELECT id, cogs_move_line_id FROM goflow_cost_line WHERE settlement_id = %s",
        [settlement.id],
    )
    links = cr.fetchall()
    from odoo.tools import SQL  # noqa: PLC0415 (with Odoo)

    # the names and types come from information_schema
    cr.execute(
        SQL(
            "CREATE TABLE bench_cogs_item (id serial PRIMARY KEY, %s)",
            SQL(", ").join(
                SQL("%s %s", SQL.identifier(name), SQL(kind)) for name, kind in columns
            ),
        )
    )
    runs = []
    for _attempt in range(BASELINE_RUNS):
        cr.execute("TRUNCATE bench_cogs_item")
        cr.execute(
            "UPDATE goflow_cost_line SET cogs_move_line_id = NULL, "
            "posted_total = NULL WHERE settlement_id = %s",
            [settlement.id],
        )
        raw = cr._obj
        with Stopwatch() as watch:
            execute_values(
                raw,
                f"INSERT INTO bench_cogs_item ({names}) VALUES %s",
                items,
                page_size=len(items),
            )
            execute_values(
                raw,
                """
                UPDATE goflow_cost_line c
                   SET cogs_move_line_id = v.item, posted_total = c.total_cost
                  FROM (VALUES %s) AS v(id, item)
                 WHERE c.id = v.id
                """,
                links,
                page_size=len(links),
            )
        runs.append(watch.seconds)
    env.invalidate_all()
    return statistics.median(runs), [round(value, 3) for value in runs], len(columns)


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
        rss = peak_rss_mb()
        items = len(settlement.cogs_move_ids.line_ids)
        linked = env["goflow.cost.line"].search_count(
            [("settlement_id", "=", settlement.id), ("cogs_move_line_id", "!=", False)]
        )
        base, runs, columns = _baseline(env, settlement)
    return [
        result(
            "post_cogs",
            watch.seconds,
            baseline_seconds=base,
            cost_lines=COST_LINES,
            skus=SKUS,
            journal_items=items,
            linked_cost_lines=linked,
            baseline_runs_seconds=runs,
            baseline_columns=columns,
            peak_rss_mb=rss,
            target=(
                f"<= {TARGET_RATIO:g} x the COGS items and the links written raw "
                "(one INSERT into a plain table, one UPDATE), every cost line linked"
            ),
            met=watch.seconds <= TARGET_RATIO * base and linked == COST_LINES,
        )
    ]
