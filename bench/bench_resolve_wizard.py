"""Resolve wizard on 5,000 missing cost lines over 800 SKUs (DESIGN §10).

A fresh database with the add-on (bench/odoo_env.py), a Goflow sandbox in
this process serving the products (most with an average cost, some with a
default cost only, some unknown), five draft settlements holding the missing
lines and fifty earlier ones with 100,000 costed lines for the Odoo average.
Everything runs as a bookkeeper. Two measurements:

* ``resolve_wizard_open``: the Missing Costs list action on the 5,000 lines
  (server action: default_get pre-fill with one Goflow call and one SQL
  query, wizard creation) plus the ``web_read`` of the form's first render.
  Target <= 3 s.
* ``resolve_wizard_save``: the ``web_save`` of the costs typed for the SKUs
  nobody knows, then Save (one UPDATE, stored computes, chatter). Target
  <= 5 s.

Sizes can be lowered with ``BENCH_RESOLVE_LINES`` and ``BENCH_RESOLVE_SKUS``.
"""

from __future__ import annotations

import os
import random
from datetime import date, timedelta

from bench.common import Stopwatch, odoo_missing, peak_rss_mb, result, skipped

LINES = int(os.environ.get("BENCH_RESOLVE_LINES", 5_000))
SKUS = int(os.environ.get("BENCH_RESOLVE_SKUS", 800))
SETTLEMENTS = 5
HISTORY_SETTLEMENTS = 50
HISTORY_LINES = 100_000
OPEN_TARGET = 3.0
SAVE_TARGET = 5.0
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


def measure(env, sandbox):
    bookkeeper, missing_ids, drafts = build(env, sandbox.url)
    user_env = env(user=bookkeeper.id, context={"lang": "en_US"})
    action = user_env.ref(ACTION)
    asked_before = len(sandbox.requests_to("products"))
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
    requests = len(sandbox.requests_to("products")) - asked_before
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
    common = {"lines": LINES, "skus": SKUS, "history_lines": HISTORY_LINES}
    yield result(
        "resolve_wizard_open",
        opening.seconds,
        **common,
        goflow_requests=requests,
        first_render_lines=sum(1 for row in rendered["line_ids"] if len(row) > 1),
        peak_rss_mb=peak_rss_mb(),
        target=f"<= {OPEN_TARGET:g} s",
        met=opening.seconds <= OPEN_TARGET,
    )
    yield result(
        "resolve_wizard_save",
        saving.seconds,
        **common,
        typed_skus=len(typed),
        still_missing=left,
        peak_rss_mb=peak_rss_mb(),
        target=f"<= {SAVE_TARGET:g} s",
        met=saving.seconds <= SAVE_TARGET and left == 0,
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
