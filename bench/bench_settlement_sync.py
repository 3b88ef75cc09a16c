"""Sync a 150,000-order settlement (imported from the generator's file that
matches the sandbox) with the Goflow sandbox, through the add-on's own code
path (``_sync_goflow``): no rate limit (DESIGN §10: <= 60 s, requests <=
ceil(orders/100) + paging), and with the sandbox limited to R requests a
minute (<= 1.2 x the floor ceil(orders/100) / R)."""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

from bench.bench_goflow_sync import SEED, SKUS, TOKEN, Sandbox
from bench.common import Stopwatch, odoo_missing, peak_rss_mb, reset_peak_rss, result
from tools.settlement_generator import write_settlement

ORDERS = int(os.environ.get("BENCH_SYNC_ORDERS", 150_000))
LIMITED_ORDERS = int(os.environ.get("BENCH_SYNC_LIMITED_ORDERS", 15_000))
RATE = float(os.environ.get("BENCH_SYNC_RATE", 120))
PAGE_SIZE = 200  # the connection's page size (Goflow's own is unknown)
TARGET_SECONDS = 60.0
TARGET_RATIO = 1.2


def _one(env, orders, rate_limit, tmp, make_store):
    path = Path(tmp) / f"settlement_{orders}.txt"
    write_settlement(str(path), orders=orders, seed=SEED, skus=SKUS, match_sandbox=True)
    with Sandbox(orders, rate_limit=rate_limit) as sandbox:
        connection = env["goflow.connection"].create(
            {
                "name": f"Bench sandbox {orders}",
                "subdomain": "bench",
                "base_url": sandbox.url,
                "api_token": TOKEN,
                "rate_limit": int(rate_limit or 0),
                "page_size": PAGE_SIZE,
            }
        )
        store = make_store(env, name=f"Bench store {orders}", connection=connection)
        with open(path, "rb") as handle:
            settlement = env["connectbooks.settlement.import"]._import_file(
                store, handle, path.name
            )
        env.flush_all()
        clients = []
        model = type(connection)
        original = model._goflow_client

        def capture(self):
            client = original(self)
            clients.append(client)
            return client

        model._goflow_client = capture
        try:
            reset_peak_rss()
            with Stopwatch() as watch:
                settlement._sync_goflow(raise_errors=True)
                env.flush_all()
        finally:
            model._goflow_client = original
        numbers = len(set(settlement.cost_line_ids.mapped("order_ref")) - {False})
        return {
            "seconds": watch.seconds,
            "requests": sum(client.request_count for client in clients),
            "order_numbers": numbers,
            "cost_lines": len(settlement.cost_line_ids),
            "missing": settlement.missing_count,
            "rss": peak_rss_mb(),
        }


def run():
    reason = odoo_missing()
    if reason:
        yield {"bench": "settlement_sync", "skipped": reason}
        return
    from bench.odoo_env import make_store, odoo_env  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="cbg-bench-sync-") as tmp:
        with odoo_env("cbg_bench_sync") as env:
            run_ = _one(env, ORDERS, None, tmp, make_store)
            batches = math.ceil(run_["order_numbers"] / 100)
            yield (
                result(
                    "settlement_sync",
                    run_["seconds"],
                    orders=ORDERS,
                    order_numbers=run_["order_numbers"],
                    cost_lines=run_["cost_lines"],
                    missing_cost_lines=run_["missing"],
                    requests=run_["requests"],
                    batches=batches,
                    page_size=PAGE_SIZE,
                    peak_rss_mb=run_["rss"],
                    target=f"<= {TARGET_SECONDS:g} s, requests ~ ceil(orders/100) "
                    "+ paging",
                    met=run_["seconds"] <= TARGET_SECONDS,
                )
            )
            limited = _one(env, LIMITED_ORDERS, RATE, tmp, make_store)
            floor = limited["requests"] / RATE * 60.0
            floor_batches = math.ceil(limited["order_numbers"] / 100) / RATE * 60.0
            yield (
                result(
                    "settlement_sync_rate_limited",
                    limited["seconds"],
                    baseline_seconds=floor_batches,
                    orders=LIMITED_ORDERS,
                    order_numbers=limited["order_numbers"],
                    requests=limited["requests"],
                    rate_limit_per_minute=RATE,
                    floor_for_requests_made=round(floor, 1),
                    target=f"<= {TARGET_RATIO} x ceil(orders/100) / R",
                    met=limited["seconds"] <= TARGET_RATIO * floor_batches,
                )
            )
