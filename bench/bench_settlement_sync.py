"""Sync a 150,000-order settlement (imported from the generator's file that
matches the sandbox) with the Goflow sandbox through the add-on's own code
path (``_sync_goflow``), against the raw client fetch of the same orders
from the same sandbox in the same run.

``settlement_sync``: no rate limit. The settlement is imported and committed,
then three fresh processes (spawned, not forked: their memory is their own)
open the database one after the other: the first fetches the order numbers
the sync asks with the connection's own Goflow client, consuming the cost
lines and keeping none (the baseline, as ``goflow_sync`` measures the
client); the second runs the sync (fetch, plan, apply, chatter) and
flushes, and does nothing else; the third fetches again.
``baseline_seconds`` is the mean of the two fetches. Targets: the sync <=
1.5 x the baseline, and ``peak_rss_mb`` <= 400: the sync's process's peak
resident memory (reset just before the sync; ``rss_before_mb`` is what the
process held then, its Odoo registry).

``settlement_sync_rate_limited``: fewer orders, the sandbox limited to R
requests a minute; target <= 1.2 x the floor ceil(orders/100) / R.

Sizes can be lowered with ``BENCH_SYNC_ORDERS``, ``BENCH_SYNC_LIMITED_ORDERS``
and ``BENCH_SYNC_RATE``.
"""

from __future__ import annotations

import gc
import math
import multiprocessing
import os
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from bench.bench_goflow_sync import SEED, SKUS, TOKEN, Sandbox
from bench.common import (
    Stopwatch,
    odoo_missing,
    peak_rss_mb,
    reset_peak_rss,
    result,
    rss_mb,
)
from tools.settlement_generator import write_settlement

ORDERS = int(os.environ.get("BENCH_SYNC_ORDERS", 150_000))
LIMITED_ORDERS = int(os.environ.get("BENCH_SYNC_LIMITED_ORDERS", 15_000))
RATE = float(os.environ.get("BENCH_SYNC_RATE", 120))
PAGE_SIZE = 200  # the connection's page size (Goflow's own is unknown)
TARGET_RATIO = 1.5
TARGET_RSS_MB = 400.0
TARGET_RATE_RATIO = 1.2


def _prepare(env, orders, rate_limit, tmp, make_store, sandbox):
    """Connection, store and the imported settlement."""
    path = Path(tmp) / f"settlement_{orders}.txt"
    write_settlement(str(path), orders=orders, seed=SEED, skus=SKUS, match_sandbox=True)
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
    return settlement


def _counting_clients(model):
    """Make ``model._goflow_client`` remember the clients it builds.

    :return: (list of the clients, function restoring the method)
    """
    clients = []
    original = model._goflow_client

    def capture(self):
        client = original(self)
        clients.append(client)
        return client

    model._goflow_client = capture

    def restore():
        model._goflow_client = original

    return clients, restore


def _sync(env, settlement):
    """Run the sync; return its seconds, requests and the settlement's counts."""
    connection = settlement.store_id.goflow_connection_id
    clients, restore = _counting_clients(type(connection))
    try:
        with Stopwatch() as watch:
            settlement._sync_goflow(raise_errors=True)
            env.flush_all()
    finally:
        restore()
    return watch.seconds, sum(client.request_count for client in clients)


def _counts(cr, settlement_id):
    cr.execute(
        """
        SELECT COUNT(DISTINCT order_ref), COUNT(*),
               COUNT(*) FILTER (WHERE state = 'missing')
          FROM goflow_cost_line WHERE settlement_id = %s
        """,
        [settlement_id],
    )
    return cr.fetchone()


def _raw_fetch(settlement, numbers):
    """The baseline: the connection's client fetching ``numbers``."""
    store = settlement.store_id
    store_ids = store._goflow_store_id_list() or None
    lines = 0
    with store.goflow_connection_id._goflow_client() as client, Stopwatch() as watch:
        for _line in client.fetch_order_costs(numbers, store_ids=store_ids):
            lines += 1
    return watch.seconds, lines


def _child(options, db, settlement_id, what):
    """In a fresh spawned process: the baseline fetch (``what`` "fetch") or
    the sync ("sync"), nothing else, so that the sync's peak memory is its
    own and not what a fetch before it left in the heap."""
    import odoo  # noqa: PLC0415 (with Odoo)
    from odoo.modules.registry import Registry  # noqa: PLC0415

    from connectbooks_goflow.core.cost_sync import (  # noqa: PLC0415
        order_numbers_to_ask,
    )

    odoo.tools.config.parse_config(options)
    registry = Registry(db)
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        settlement = env["connectbooks.settlement"].browse(settlement_id)
        # in cache first, as in the sync (it groups the settlements first)
        settlement.fetch(["state", "company_id", "store_id"])
        if what == "fetch":
            numbers = [
                number
                for states, _quantities in settlement._sync_line_slices(False)
                for number in order_numbers_to_ask(states)
            ]
            seconds, fetched = _raw_fetch(settlement, numbers)
            return {"seconds": seconds, "fetched": fetched, "asked": len(numbers)}
        gc.collect()
        before = rss_mb()
        reset_peak_rss()
        seconds, requests = _sync(env, settlement)
        peak = peak_rss_mb()
        order_numbers, cost_lines, missing = _counts(cr, settlement_id)
        cr.rollback()
    return {
        "seconds": seconds,
        "requests": requests,
        "order_numbers": order_numbers,
        "cost_lines": cost_lines,
        "missing": missing,
        "rss_before": before,
        "rss": peak,
    }


def _in_children(env, settlement):
    """Baseline fetch, sync, baseline fetch: each in its own process."""
    context = multiprocessing.get_context("spawn")
    args = (_odoo_options(), env.cr.dbname, settlement.id)
    runs = []
    for what in ("fetch", "sync", "fetch"):
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            runs.append(pool.submit(_child, *args, what).result())
    first, run_, second = runs
    run_["baseline_runs"] = [round(first["seconds"], 3), round(second["seconds"], 3)]
    run_["baseline"] = (first["seconds"] + second["seconds"]) / 2
    run_["fetched_lines"] = first["fetched"]
    run_["asked"] = first["asked"]
    return run_


def _odoo_options():
    """This process's Odoo options, for the child to parse."""
    import odoo  # noqa: PLC0415 (with Odoo)

    config = odoo.tools.config
    options = ["--addons-path", config["addons_path"], "--log-level", "warn"]
    options += ["--data-dir", config["data_dir"]]
    options += [
        "--db_host",
        str(config["db_host"]),
        "--db_port",
        str(config["db_port"]),
    ]
    options += ["--db_user", str(config["db_user"])]
    if config["db_password"]:
        options += ["--db_password", str(config["db_password"])]
    return options


def _unlimited(env, tmp, make_store):
    with Sandbox(ORDERS) as sandbox:
        settlement = _prepare(env, ORDERS, None, tmp, make_store, sandbox)
        env.cr.commit()  # the children read it; the database is dropped after
        run_ = _in_children(env, settlement)
        sandbox_rss = sandbox.stop()
    ratio_met = run_["seconds"] <= TARGET_RATIO * run_["baseline"]
    rss_met = run_["rss"] is not None and run_["rss"] <= TARGET_RSS_MB
    return result(
        "settlement_sync",
        run_["seconds"],
        baseline_seconds=run_["baseline"],
        orders=ORDERS,
        order_numbers=run_["order_numbers"],
        order_numbers_asked=run_["asked"],
        cost_lines=run_["cost_lines"],
        fetched_cost_lines=run_["fetched_lines"],
        missing_cost_lines=run_["missing"],
        requests=run_["requests"],
        batches=math.ceil(run_["asked"] / 100),
        page_size=PAGE_SIZE,
        baseline_runs_seconds=run_["baseline_runs"],
        rss_before_mb=run_["rss_before"],
        peak_rss_mb=run_["rss"],
        sandbox_peak_rss_mb=sandbox_rss,
        target=(
            f"<= {TARGET_RATIO:g} x the raw client fetch of the same orders, "
            f"peak RSS <= {TARGET_RSS_MB:g} MB"
        ),
        met=ratio_met and rss_met,
    )


def _rate_limited(env, tmp, make_store):
    with Sandbox(LIMITED_ORDERS, rate_limit=RATE) as sandbox:
        settlement = _prepare(env, LIMITED_ORDERS, RATE, tmp, make_store, sandbox)
        seconds, requests = _sync(env, settlement)
    order_numbers, _lines, _missing = _counts(env.cr, settlement.id)
    floor = requests / RATE * 60.0
    floor_batches = math.ceil(order_numbers / 100) / RATE * 60.0
    return result(
        "settlement_sync_rate_limited",
        seconds,
        baseline_seconds=floor_batches,
        orders=LIMITED_ORDERS,
        order_numbers=order_numbers,
        requests=requests,
        rate_limit_per_minute=RATE,
        floor_for_requests_made=round(floor, 1),
        target=f"<= {TARGET_RATE_RATIO} x ceil(orders/100) / R",
        met=seconds <= TARGET_RATE_RATIO * floor_batches,
    )


def run():
    reason = odoo_missing()
    if reason:
        yield {"bench": "settlement_sync", "skipped": reason}
        return
    from bench.odoo_env import make_store, odoo_env  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="cbg-bench-sync-") as tmp:
        with odoo_env("cbg_bench_sync") as env:
            yield _unlimited(env, tmp, make_store)
            yield _rate_limited(env, tmp, make_store)
