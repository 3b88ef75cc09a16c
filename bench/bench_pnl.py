"""Profit & Loss grouped by SKU over a 1,000,000-row settlement, against one
hand-written SQL query computing the same groups in the same run.

A generated Amazon V2 file of ~153,000 orders (~1,000,000 rows) is imported
into a fresh database through the import's code path, 90 % of its cost lines
are given a cost, the P&L is grouped once before any table has statistics
(``without_statistics_seconds``: a new database, before autovacuum comes by),
then the tables are analysed (as autovacuum does after a large insert) and
``connectbooks.settlement.pnl`` is grouped by SKU for that settlement:

* ``pnl_by_sku``: ``read_group`` with quantity, sales, cost and margin, as
  the pivot view asks;
* ``pnl_by_sku_web``: ``web_read_group`` as the grouped list asks (80 groups
  per page, which also counts the groups), by a bookkeeper so that the
  multi-company rule applies.

The baseline of both is :data:`BASELINE_QUERY`: one query written by hand
straight from ``connectbooks_settlement_line`` and ``goflow_cost_line`` that
classifies the settlement's amount rows by their mapping rule (decided once
per distinct transaction type, amount type and description), aggregates
each table by SKU for the settlement and joins the two (quantity, sales,
profit, cost, margin and missing costs per SKU). Before timing, its
groups are checked against ``read_group``'s (``groups_match``). Target: each
<= 3 x the baseline.

Baseline and view run back to back, ``REPEAT`` times each after a first
run of both; ``seconds`` and ``baseline_seconds`` are the medians,
``first_seconds`` the view's first run. ``BENCH_PNL_ORDERS`` lowers the size,
``BENCH_PNL_REPEAT`` the runs.
"""

from __future__ import annotations

import math
import os
import statistics
import tempfile
from pathlib import Path

from bench.common import Stopwatch, odoo_missing, result
from connectbooks_goflow.core.mapping import PNL_COLUMN_OF_ROLE, PNL_SALES, PNL_TAX
from tools.settlement_generator import write_settlement

ORDERS = int(os.environ.get("BENCH_PNL_ORDERS", 153_000))
TARGET_RATIO = 3.0
REPEAT = int(os.environ.get("BENCH_PNL_REPEAT", 5))
COSTED_SHARE_SQL = "id %% 10 <> 0"  # 90 % of the cost lines get a cost

# Each amount row goes to the P&L column of the account role its amount
# mapping rule gives (the store's rules, then the marketplace's; an exact
# description, then an exact transaction type, then the amount type alone;
# compared trimmed and lower-cased), decided once per distinct (transaction
# type, amount type, description) of the settlement; no rule: "other".
SALES_ROLES = tuple(r for r, c in PNL_COLUMN_OF_ROLE.items() if c == PNL_SALES)
TAX_ROLES = tuple(r for r, c in PNL_COLUMN_OF_ROLE.items() if c == PNL_TAX)
LEFT_OUT_ROLES = tuple(r for r, c in PNL_COLUMN_OF_ROLE.items() if not c)
BASELINE_QUERY = """
    WITH combinations AS (
        SELECT DISTINCT COALESCE(transaction_type, '') AS transaction_type,
               amount_type, COALESCE(amount_description, '') AS description
          FROM connectbooks_settlement_line
         WHERE settlement_id = %(settlement)s
    ), roles AS (
        SELECT c.*, (
            SELECT m.role
              FROM connectbooks_amount_mapping m
             WHERE m.active AND m.marketplace = %(marketplace)s
               AND (m.store_id = %(store)s OR m.store_id IS NULL)
               AND LOWER(BTRIM(m.amount_type)) = LOWER(BTRIM(c.amount_type))
               AND COALESCE(LOWER(BTRIM(m.transaction_type)), '')
                   IN ('', LOWER(BTRIM(c.transaction_type)))
               AND COALESCE(LOWER(BTRIM(m.amount_description)), '')
                   IN ('', LOWER(BTRIM(c.description)))
             ORDER BY m.store_id IS NULL,
                      COALESCE(BTRIM(m.amount_description), '') = '',
                      COALESCE(BTRIM(m.transaction_type), '') = '',
                      m.id
             LIMIT 1
        ) AS role
          FROM combinations c
    ), amounts AS (
        SELECT COALESCE(l.sku, '') AS sku,
               SUM(l.amount::float8) FILTER (WHERE r.role IN %(sales)s) AS sales,
               SUM(l.amount::float8) FILTER (
                   WHERE r.role IS NULL OR r.role NOT IN %(tax)s
               ) AS income
          FROM connectbooks_settlement_line l
          LEFT JOIN roles r
            ON r.transaction_type = COALESCE(l.transaction_type, '')
           AND r.amount_type = l.amount_type
           AND r.description = COALESCE(l.amount_description, '')
         WHERE l.settlement_id = %(settlement)s
           AND (r.role IS NULL OR r.role NOT IN %(left_out)s)
         GROUP BY 1
    ), costs AS (
        SELECT COALESCE(sku, '') AS sku,
               SUM((quantity * sign)::float8) AS quantity,
               SUM(total_cost::float8) AS cost,
               COUNT(*) FILTER (WHERE state = 'missing') AS missing
          FROM goflow_cost_line
         WHERE settlement_id = %(settlement)s
         GROUP BY 1
    )
    SELECT COALESCE(a.sku, c.sku),
           COALESCE(c.quantity, 0),
           COALESCE(a.sales, 0),
           COALESCE(c.cost, 0),
           COALESCE(a.income, 0) - COALESCE(c.cost, 0),
           CASE WHEN a.sales <> 0
                THEN 100 * (COALESCE(a.income, 0) - COALESCE(c.cost, 0)) / a.sales
           END,
           COALESCE(c.missing, 0)
      FROM amounts a
      FULL JOIN costs c ON c.sku = a.sku
"""


def _cost_most_lines(env, settlement):
    """Give 90 % of the (all missing after import) cost lines a cost."""
    cr = env.cr
    cr.execute(
        f"""
        UPDATE goflow_cost_line
           SET unit_cost = 1 + (id %% 997) / 100.0,
               total_cost = sign * ROUND(quantity * (1 + (id %% 997) / 100.0), 2),
               state = 'costed', source = 'goflow', missing_reason = NULL
         WHERE settlement_id = %s AND {COSTED_SHARE_SQL}
        """,
        [settlement.id],
    )
    env.invalidate_all()


def baseline_groups(cr, settlement):
    """The baseline query's groups: ``{sku or "": (quantity, sales, cost,
    profit, margin or None, missing count)}``."""
    store = settlement.store_id
    cr.execute(
        BASELINE_QUERY,
        {
            "settlement": settlement.id,
            "store": store.id,
            "marketplace": store.marketplace,
            "sales": SALES_ROLES,
            "tax": TAX_ROLES,
            "left_out": LEFT_OUT_ROLES,
        },
    )
    return {row[0]: row[1:] for row in cr.fetchall()}


def _close(a, b, tolerance=0.005):
    return math.isclose(a or 0.0, b or 0.0, rel_tol=1e-9, abs_tol=tolerance)


def mismatches(groups, baseline):
    """SKUs whose ``read_group`` group differs from the baseline's."""
    seen = {}
    for group in groups:
        seen[group["sku"] or ""] = group
    wrong = sorted(seen.keys() ^ baseline.keys())
    for sku in seen.keys() & baseline.keys():
        group = seen[sku]
        quantity, sales, cost, _profit, margin, _missing = baseline[sku]
        if not (
            _close(group["quantity"], quantity)
            and _close(group["sales"], sales)
            and _close(group["cost"], cost)
            and _close(group["margin"] or 0.0, margin or 0.0, 1e-6)
        ):
            wrong.append(sku)
    return wrong


def _time_pair(measured, baseline):
    """Run both once, then ``REPEAT`` times back to back.

    :return: (median measured, median baseline, first measured, first answer)
    """
    with Stopwatch() as first:
        answer = measured()
    baseline()
    runs, base_runs = [], []
    for _ in range(REPEAT):
        with Stopwatch() as watch:
            baseline()
        base_runs.append(watch.seconds)
        with Stopwatch() as watch:
            measured()
        runs.append(watch.seconds)
    return (
        statistics.median(runs),
        statistics.median(base_runs),
        first.seconds,
        answer,
    )


def run():
    reason = odoo_missing()
    if reason:
        return [{"bench": "pnl_by_sku", "skipped": reason}]
    from bench.odoo_env import make_store, odoo_env  # noqa: PLC0415

    records = []
    with tempfile.TemporaryDirectory(prefix="cbg-bench-pnl-") as tmp:
        path = Path(tmp) / "settlement_v2.txt"
        write_settlement(str(path), orders=ORDERS, seed=2)
        with odoo_env("cbg_bench_pnl") as env:
            store = make_store(env)
            with open(path, "rb") as handle, Stopwatch() as load:
                settlement = env["connectbooks.settlement.import"]._import_file(
                    store, handle, path.name
                )
                _cost_most_lines(env, settlement)
                env.flush_all()
            # A new database: no table has statistics yet (autovacuum has not
            # come by). The P&L must not depend on them.
            Pnl = env["connectbooks.settlement.pnl"]
            domain = [("settlement_id", "=", settlement.id)]
            spec = ["sku", "quantity:sum", "sales:sum", "cost:sum", "margin"]
            with Stopwatch() as unanalysed:
                Pnl.read_group(domain, spec, ["sku"])
            env.cr.execute(
                "ANALYZE connectbooks_settlement_line, goflow_cost_line, "
                "connectbooks_amount_mapping, connectbooks_settlement, "
                "connectbooks_store"
            )
            rows = settlement.line_count
            cost_lines = len(settlement.cost_line_ids)
            bookkeeper = env["res.users"].create(
                {
                    "name": "Bench bookkeeper",
                    "login": "bench_bookkeeper",
                    "groups_id": [(6, 0, [env.ref("account.group_account_user").id])],
                }
            )
            cr = env.cr

            def baseline():
                return baseline_groups(cr, settlement)

            wrong = mismatches(Pnl.read_group(domain, spec, ["sku"]), baseline())
            seconds, base, first, groups = _time_pair(
                lambda: Pnl.read_group(domain, spec, ["sku"]), baseline
            )
            records.append(
                result(
                    "pnl_by_sku",
                    seconds,
                    baseline_seconds=base,
                    first_seconds=round(first, 3),
                    without_statistics_seconds=round(unanalysed.seconds, 3),
                    rows=rows,
                    cost_lines=cost_lines,
                    groups=len(groups),
                    groups_match=not wrong,
                    groups_differing=wrong[:5],
                    setup_seconds=round(load.seconds, 1),
                    target=(
                        f"<= {TARGET_RATIO:g} x one hand-written SQL query "
                        "(read_group by SKU), same groups"
                    ),
                    met=seconds <= TARGET_RATIO * base and not wrong,
                )
            )
            web_spec = [
                "quantity:sum",
                "sales:sum",
                "cost:sum",
                "profit:sum",
                "cost_missing_count:sum",
                "margin:avg",
            ]
            PnlUser = Pnl.with_user(bookkeeper)
            seconds, base, first, answer = _time_pair(
                lambda: PnlUser.web_read_group(domain, web_spec, ["sku"], limit=80),
                baseline,
            )
            records.append(
                result(
                    "pnl_by_sku_web",
                    seconds,
                    baseline_seconds=base,
                    first_seconds=round(first, 3),
                    rows=rows,
                    groups=answer["length"],
                    target=(
                        f"<= {TARGET_RATIO:g} x one hand-written SQL query "
                        "(grouped list, a bookkeeper)"
                    ),
                    met=seconds <= TARGET_RATIO * base,
                )
            )
    return records
