"""Resolve wizard on 5,000 missing cost lines over 800 SKUs, against the
raw SQL of the same work in the same run.

A fresh database with the add-on (bench/odoo_env.py), a Goflow sandbox in
this process serving the products (most with an average cost, some with a
default cost only, some unknown), five draft settlements holding the missing
lines and fifty earlier ones with 100,000 costed lines for the Odoo average.
Everything runs as a bookkeeper. Two measurements:

* ``resolve_wizard_open``: the Missing Costs list action on the 5,000 lines
  (server action: default_get pre-fill with one Goflow call and one SQL
  query, wizard creation) plus the ``web_read`` of the form's first render.
  Baseline: the raw SELECT of those lines with their pre-fill: one query
  reading the lines (missing, draft settlement) with the Odoo average of
  their SKU (same company and currency, the window, no estimates), the
  same Goflow product call through the client, and the pre-fill picked per
  line (Goflow average, else Odoo average, else Goflow default).
* ``resolve_wizard_save``: the ``web_save`` of the costs typed for the SKUs
  nobody knows, then Save (one UPDATE, stored computes, chatter). Baseline:
  the raw UPDATE of the same lines to the same costs (one ``UPDATE ... FROM
  (VALUES ...)``), after the save.

The wizard is opened ``BASELINE_RUNS`` times, each right after a run of
its baseline, and the medians are compared; the save (which changes the
lines) is timed once, its baseline the median of ``BASELINE_RUNS`` right
after it. Target: each <= 5 x its baseline.

Sizes can be lowered with ``BENCH_RESOLVE_LINES`` and ``BENCH_RESOLVE_SKUS``.
"""

from __future__ import annotations

import os
import random
import statistics
from datetime import date, timedelta

from bench.common import Stopwatch, odoo_missing, peak_rss_mb, result, skipped
from connectbooks_goflow.core.costing import ODOO_AVERAGE_DAYS
from connectbooks_goflow.core.goflow_client import GoflowClient

LINES = int(os.environ.get("BENCH_RESOLVE_LINES", 5_000))
SKUS = int(os.environ.get("BENCH_RESOLVE_SKUS", 800))
SETTLEMENTS = 5
HISTORY_SETTLEMENTS = 50
HISTORY_LINES = 100_000
TARGET_RATIO = 5.0
BASELINE_RUNS = 3
TOKEN = "bench-resolve-token-77"
SEED = 6
ACTION = "connectbooks_goflow.goflow_resolve_cost_wizard_action_cost_line"
REASONS = ("no_goflow_cost", "not_in_goflow", "before_start", "no_order")

M2O = {"fields": {"display_name": {}}}
SKU_SPEC = {
    "fields": {
        name: {}
        for name in (
            "sku",
            "line_count",
            "quantity",
            "reasons",
            "basis",
            "prefill_cost",
            "basis_text",
            "unit_cost",
            "zero_ok",
        )
    }
    | {"product_id": M2O, "company_id": M2O, "currency_id": M2O},
    "limit": 80,
    "order": "",
}
LINE_SPEC = {
    "fields": {
        name: {}
        for name in (
            "kind",
            "order_ref",
            "adjustment_ref",
            "sku",
            "quantity",
            "missing_reason",
            "basis",
            "prefill_cost",
            "basis_text",
            "unit_cost",
            "zero_ok",
        )
    }
    | {"settlement_id": M2O, "product_id": M2O},
    "limit": 80,
    "order": "",
}
# What the web client reads to draw the wizard's form (its view's fields).
FORM_SPEC = {
    "prefill_note": {},
    "line_count": {},
    "sku_count": {},
    "window_days": {},
    "can_sync": {},
    "settlement_ids": M2O,
    "sku_ids": SKU_SPEC,
    "line_ids": LINE_SPEC,
}


def sku_name(index):
    return f"BR-SKU-{index:05d}"


def products(rng):
    """Goflow products: 3/5 with an average cost, 1/5 a default cost only,
    1/5 unknown to Goflow."""
    result_ = []
    for index in range(SKUS):
        if index % 5 == 4:
            continue
        cost = round(rng.uniform(2.0, 40.0), 2)
        result_.append(
            {
                "id": 50_000 + index,
                "item_number": sku_name(index),
                "details": {"name": f"Bench product {index}"},
                "pricing": {
                    "default_price": round(cost * 2.5, 2),
                    "default_cost": round(cost * 0.95, 2),
                    "average_cost": None if index % 5 == 3 else cost,
                },
            }
        )
    return result_


def insert_cost_lines(env, rows):
    from psycopg2.extras import execute_values  # noqa: PLC0415 (with Odoo)

    execute_values(
        env.cr._obj,
        """
        INSERT INTO goflow_cost_line (
            settlement_id, kind, order_ref, sku, quantity,
            sign, unit_cost, total_cost, state, source, missing_reason,
            posted_date, synced_at, create_uid, create_date, write_uid,
            write_date)
        VALUES %s
        """,
        rows,
        template="(%s, 'order', %s, %s, %s, 1, %s, %s, %s, %s, %s, %s,"
        " NOW() AT TIME ZONE 'UTC', 1, NOW() AT TIME ZONE 'UTC', 1,"
        " NOW() AT TIME ZONE 'UTC')",
        page_size=5_000,
    )


def build(env, sandbox_url):
    """Store, connection, bookkeeper, settlements and cost lines.

    :return: (bookkeeper, ids of the missing cost lines)
    """
    from bench.odoo_env import make_store  # noqa: PLC0415 (with Odoo)

    rng = random.Random(SEED)
    connection = env["goflow.connection"].create(
        {
            "name": "Bench sandbox",
            "base_url": sandbox_url,
            "api_token": TOKEN,
            "rate_limit": 0,
            "page_size": 100,
        }
    )
    store = make_store(env, connection=connection)
    company = store.company_id
    bookkeeper = env["res.users"].create(
        {
            "name": "Bench bookkeeper",
            "login": "bench_bookkeeper",
            "email": "bench.bookkeeper@example.com",
            "company_id": company.id,
            "company_ids": [(6, 0, company.ids)],
            "groups_id": [(6, 0, env.ref("account.group_account_user").ids)],
        }
    )
    Settlement = env["connectbooks.settlement"]
    history = Settlement.create(
        [
            {
                "store_id": store.id,
                "settlement_ref": f"HIST-{index:03d}",
                "currency_id": store.currency_id.id,
            }
            for index in range(HISTORY_SETTLEMENTS)
        ]
    )
    drafts = Settlement.create(
        [
            {
                "store_id": store.id,
                "settlement_ref": f"OPEN-{index:03d}",
                "currency_id": store.currency_id.id,
            }
            for index in range(SETTLEMENTS)
        ]
    )
    today = date.today()
    rows = []
    # history: costs of the SKUs Goflow does not know, half of them
    for index in range(HISTORY_LINES):
        settlement = history[index % HISTORY_SETTLEMENTS]
        sku_index = rng.randrange(SKUS)
        if sku_index % 5 == 4 and sku_index % 10 == 9:
            sku_index -= 1
        quantity = rng.randint(1, 4)
        unit_cost = round(rng.uniform(2.0, 40.0), 4)
        source = rng.choice(("goflow", "goflow", "goflow", "manual", "estimate"))
        rows.append(
            (
                settlement.id,
                f"H-{index:07d}",
                sku_name(sku_index),
                quantity,
                unit_cost,
                round(quantity * unit_cost, 2),
                "costed",
                source,
                None,
                today - timedelta(days=rng.randrange(120)),
            )
        )
    missing = []
    for index in range(LINES):
        settlement = drafts[index % SETTLEMENTS]
        missing.append(
            (
                settlement.id,
                f"M-{index:07d}",
                sku_name(index % SKUS),
                rng.randint(1, 3),
                None,
                0,
                "missing",
                None,
                REASONS[index % len(REASONS)],
                today - timedelta(days=rng.randrange(14)),
            )
        )
    insert_cost_lines(env, rows + missing)
    env.invalidate_all()
    settlements = history | drafts
    for fname in ("missing_count", "cost_status", "cost_total"):
        env.add_to_compute(Settlement._fields[fname], settlements)
    env.flush_all()
    missing_ids = (
        env["goflow.cost.line"]
        .search([("state", "=", "missing"), ("settlement_id", "in", drafts.ids)])
        .ids
    )
    return bookkeeper, missing_ids, drafts


OPEN_QUERY = """
    WITH lines AS (
        SELECT c.id, c.settlement_id, c.kind, c.order_ref, c.adjustment_ref,
               c.sku, c.quantity, c.missing_reason, c.product_id, c.posted_date,
               s.company_id, s.currency_id
          FROM goflow_cost_line c
          JOIN connectbooks_settlement s ON s.id = c.settlement_id
         WHERE c.id = ANY(%(ids)s) AND c.state = 'missing' AND s.state = 'draft'
    ), averages AS (
        SELECT s.company_id, s.currency_id, c.sku,
               SUM(c.quantity * c.unit_cost) / SUM(c.quantity) AS unit_cost,
               COUNT(*) AS count
          FROM goflow_cost_line c
          JOIN connectbooks_settlement s ON s.id = c.settlement_id
         WHERE c.sku IN (SELECT sku FROM lines)
           AND c.state = 'costed'
           AND c.source IN ('goflow', 'manual', 'average')
           AND c.unit_cost > 0
           AND c.posted_date >= %(since)s
         GROUP BY s.company_id, s.currency_id, c.sku
    )
    SELECT l.*, a.unit_cost, a.count
      FROM lines l
      LEFT JOIN averages a USING (company_id, currency_id, sku)
     ORDER BY l.sku, l.settlement_id, l.posted_date, l.order_ref, l.id
"""
SAVE_QUERY = """
    UPDATE goflow_cost_line c
       SET unit_cost = v.unit_cost, total_cost = v.total_cost, source = v.source,
           state = 'costed', missing_reason = NULL, resolved_by_id = %s,
           resolved_at = NOW() AT TIME ZONE 'UTC', write_uid = %s,
           write_date = NOW() AT TIME ZONE 'UTC'
      FROM (VALUES %%s) AS v(id, unit_cost, total_cost, source)
     WHERE c.id = v.id
"""


def open_baseline(env, sandbox_url, missing_ids):
    """The lines with their pre-fill, raw: ``{line id: unit cost or None}``."""
    cr = env.cr
    since = date.today() - timedelta(days=ODOO_AVERAGE_DAYS)
    cr.execute(OPEN_QUERY, {"ids": missing_ids, "since": since})
    rows = cr.fetchall()
    skus = sorted({row[5] for row in rows if row[5]})
    with GoflowClient(TOKEN, base_url=sandbox_url, page_size=100) as client:
        goflow = client.fetch_product_costs(skus)
    prefill = {}
    for row in rows:
        cost = goflow.get(row[5])
        average, default = (
            (cost.average_cost, cost.default_cost) if cost else (None,) * 2
        )
        prefill[row[0]] = average or row[-2] or default
    return prefill


def save_baseline(env, written):
    """Write ``written`` (rows of id, unit cost, total, source) raw."""
    from psycopg2.extras import execute_values  # noqa: PLC0415 (with Odoo)

    uid = env.uid
    execute_values(
        env.cr._obj, SAVE_QUERY % (uid, uid), written, page_size=len(written)
    )


def _median_seconds(call):
    runs = []
    for _attempt in range(BASELINE_RUNS):
        with Stopwatch() as watch:
            call()
        runs.append(watch.seconds)
    return statistics.median(runs), [round(value, 4) for value in runs]


def measure(env, sandbox):
    bookkeeper, missing_ids, drafts = build(env, sandbox.url)
    user_env = env(user=bookkeeper.id, context={"lang": "en_US"})
    action = user_env.ref(ACTION)

    def open_wizard():
        env.invalidate_all()
        with Stopwatch() as opening:
            opened = action.with_context(
                active_model="goflow.cost.line",
                active_ids=missing_ids,
                active_id=missing_ids[0],
            ).run()
            wizard = user_env["goflow.resolve.cost.wizard"].browse(opened["res_id"])
            first_render = wizard.web_read(FORM_SPEC)
            user_env.flush_all()
        return opening.seconds, wizard, first_render

    # Opening changes no cost line: each run is timed back to back with
    # its baseline, and the medians compared.
    open_runs, open_base_runs = [], []
    for _attempt in range(BASELINE_RUNS):
        with Stopwatch() as watch:
            open_baseline(env, sandbox.url, missing_ids)
        open_base_runs.append(watch.seconds)
        asked_before = len(sandbox.requests_to("products"))
        seconds, wizard, first_render = open_wizard()
        open_runs.append(seconds)
    requests = len(sandbox.requests_to("products")) - asked_before
    open_seconds = statistics.median(open_runs)
    open_base = statistics.median(open_base_runs)
    prefilled = open_baseline(env, sandbox.url, missing_ids)
    rendered = first_render[0]
    assert rendered["line_count"] == LINES, rendered["line_count"]
    unknown = wizard.sku_ids.filtered(lambda s: s.basis == "none")
    typed = [(1, row.id, {"unit_cost": 3.25}) for row in unknown]
    env.invalidate_all()
    with Stopwatch() as saving:
        wizard.web_save({"sku_ids": typed}, FORM_SPEC)
        wizard.action_resolve()
        user_env.flush_all()
    left = sum(drafts.mapped("missing_count"))
    env.cr.execute(
        "SELECT id, unit_cost, total_cost, source FROM goflow_cost_line "
        "WHERE id = ANY(%s)",
        [missing_ids],
    )
    written = env.cr.fetchall()
    save_base, save_runs = _median_seconds(lambda: save_baseline(env, written))
    env.invalidate_all()
    common = {"lines": LINES, "skus": SKUS, "history_lines": HISTORY_LINES}
    yield result(
        "resolve_wizard_open",
        open_seconds,
        baseline_seconds=open_base,
        **common,
        goflow_requests=requests,
        first_render_lines=sum(1 for row in rendered["line_ids"] if len(row) > 1),
        baseline_lines=len(prefilled),
        baseline_prefilled=sum(1 for value in prefilled.values() if value),
        runs_seconds=[round(value, 3) for value in open_runs],
        baseline_runs_seconds=[round(value, 3) for value in open_base_runs],
        peak_rss_mb=peak_rss_mb(),
        target=f"<= {TARGET_RATIO:g} x the raw SELECT of the lines with pre-fill",
        met=open_seconds <= TARGET_RATIO * open_base,
    )
    yield result(
        "resolve_wizard_save",
        saving.seconds,
        baseline_seconds=save_base,
        **common,
        typed_skus=len(typed),
        still_missing=left,
        baseline_runs_seconds=save_runs,
        peak_rss_mb=peak_rss_mb(),
        target=f"<= {TARGET_RATIO:g} x the raw UPDATE of the same costs",
        met=saving.seconds <= TARGET_RATIO * save_base and left == 0,
    )


def run():
    reason = odoo_missing()
    if reason:
        yield skipped("resolve_wizard", reason)
        return
    from bench.odoo_env import odoo_env  # noqa: PLC0415 (with Odoo)
    from tools.goflow_sandbox.dataset import Dataset  # noqa: PLC0415
    from tools.goflow_sandbox.server import SandboxServer  # noqa: PLC0415

    rng = random.Random(SEED)
    dataset = Dataset(products=products(rng))
    with SandboxServer(dataset, token=TOKEN, page_size=100) as sandbox:
        with odoo_env(prefix="cbg_bench_resolve") as env:
            yield from measure(env, sandbox)
