"""Scale the Goflow sync past one cron worker: the scheduled action alone
against OCA queue_job with 1, 2, 4, 8 and 16 runner threads (``python -m
bench scale_sync``; ``BENCH_SCALE_THREADS=1,2,4`` for fewer).

The world: ``BENCH_SCALE_STORES`` client companies (8), each with one store
on a Goflow account of its own — one sandbox process per account
(``tools/goflow_sandbox --latency-ms``), so that each account's answers take
``BENCH_SCALE_LATENCY_MS`` (300 ms, a distant API) and nothing is shared but
this machine — and ``BENCH_SCALE_SETTLEMENTS`` (3) imported settlements per
store of ``BENCH_SCALE_ORDERS`` (400) orders, all not synced yet. Each run
gets a fresh set of companies and settlements (the others' stores are
unplugged from Goflow meanwhile, so the scheduled action sees only its own).

- **cron**: the add-on's scheduled action as Odoo's cron runs it, one
  worker: ``_cron_sync_goflow`` a batch of 10 per call, each call in its own
  transaction, called again while settlements remain — with the job-queue
  add-on's dispatch hook switched off, i.e. the add-on without it.
- **queue_job, T threads**: the scheduled action enqueues one job per
  settlement (``connectbooks_goflow_queue``), then queue_job's own runner
  (``QueueJobRunner``: the channels and capacities read from the database,
  one channel of capacity 1 per Goflow account, root capacity T) dispatches
  them. The one part replaced: the runner asks Odoo to run a job with an
  HTTP request to ``/queue_job/runjob``; here it hands the job to a pool of
  T threads of this process, each running the controller's own code
  (``RunJobController._acquire_job`` then ``_runjob``) in a database cursor
  of its own, as an Odoo worker serving that request does.

Printed: settlements per minute and the ratio to the cron's, the most jobs
running at once, the process's CPU use (the threads share one interpreter:
the Python work of the syncs runs one at a time on the GIL, as it would not
across Odoo's worker processes). No target is set: this measures where it
stops scaling.
"""

from __future__ import annotations

import os
import resource
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from unittest.mock import patch

from bench.bench_goflow_sync import TOKEN, Sandbox
from bench.common import Stopwatch, odoo_missing
from tools.settlement_generator import write_settlement

STORES = int(os.environ.get("BENCH_SCALE_STORES", 8))
SETTLEMENTS = int(os.environ.get("BENCH_SCALE_SETTLEMENTS", 3))
ORDERS = int(os.environ.get("BENCH_SCALE_ORDERS", 400))
LATENCY_MS = float(os.environ.get("BENCH_SCALE_LATENCY_MS", 300))
THREADS = tuple(
    int(n) for n in os.environ.get("BENCH_SCALE_THREADS", "1,2,4,8,16").split(",")
)
QUEUE_ADDON = "connectbooks_goflow_queue"
PAGE_SIZE = 200
# The longest a run may take (a stuck job must not hang the benchmark).
RUN_TIMEOUT = 1800


def _world(env, make_store, run, sandboxes, files):
    """``STORES`` companies, each a store on its own sandbox account and
    ``SETTLEMENTS`` imported settlements. Return the stores and their
    connections."""
    stores = env["connectbooks.store"]
    for index, sandbox in enumerate(sandboxes):
        company = env["res.company"].create({"name": f"Client {run}-{index}"})
        cenv = env(context=dict(env.context, allowed_company_ids=company.ids))
        connection = cenv["goflow.connection"].create(
            {
                "name": f"Goflow {run}-{index}",
                "company_id": company.id,
                "subdomain": "bench",
                "base_url": sandbox.url,
                "api_token": TOKEN,
                "rate_limit": 0,
                "page_size": PAGE_SIZE,
            }
        )
        store = make_store(cenv, name=f"Store {run}-{index}", connection=connection)
        for path in files:
            with open(path, "rb") as handle:
                cenv["connectbooks.settlement.import"]._import_file(
                    store, handle, path.name
                )
        stores |= store
    return stores


def _plug(env, stores, connections):
    """Only ``stores`` are connected to Goflow: the scheduled action sees
    their settlements only."""
    env["connectbooks.store"].search([]).write({"goflow_connection_id": False})
    for store, connection in zip(stores, connections, strict=True):
        store.goflow_connection_id = connection


def _due(registry, odoo):
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        Settlement = env["connectbooks.settlement"]
        return Settlement.search_count(
            [
                ("store_id.goflow_connection_id", "!=", False),
                ("last_sync_at", "=", False),
            ]
        )


def _cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _cron_run(registry, odoo):
    """The scheduled action alone, as Odoo's cron runs it (without the
    job-queue add-on's dispatch)."""
    calls = 0
    with ExitStack() as stack:
        Model = registry["connectbooks.settlement"]
        stack.enter_context(patch.object(Model, "_sync_enqueue", lambda self: False))
        deadline = time.monotonic() + RUN_TIMEOUT
        while _due(registry, odoo) and time.monotonic() < deadline:
            with registry.cursor() as cr:
                env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
                env["connectbooks.settlement"]._cron_sync_goflow()
                cr.commit()
            calls += 1
    return {"cron_calls": calls}


def _queue_run(registry, odoo, threads):
    """Enqueue with the scheduled action, then queue_job's runner with
    ``threads`` workers until every job is done."""
    from odoo.addons.queue_job.controllers.main import (  # noqa: PLC0415
        RunJobController,
    )
    from odoo.addons.queue_job.jobrunner.runner import (  # noqa: PLC0415
        QueueJobRunner,
    )

    db_name = registry.db_name
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        env["connectbooks.settlement"]._cron_sync_goflow()
        cr.commit()
    errors = []
    running = []
    peak = [0]
    lock = threading.Lock()

    def serve(uuid):
        """What an Odoo worker does for GET /queue_job/runjob."""
        with lock:
            running.append(uuid)
            peak[0] = max(peak[0], len(running))
        try:
            with registry.cursor() as cr:
                env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
                job = RunJobController._acquire_job(env, uuid)
                if job is not None:
                    RunJobController._runjob(env, job)
                    cr.commit()
        except Exception as error:
            errors.append(repr(error))
        finally:
            with lock:
                running.remove(uuid)

    pool = ThreadPoolExecutor(threads, thread_name_prefix="odoo-worker")

    class Runner(QueueJobRunner):
        def _dispatch_job(self, job):
            self.db_by_name[job.db_name].set_job_enqueued(job.uuid)
            pool.submit(serve, job.uuid)

    config = odoo.tools.config
    saved = config["db_name"]
    config["db_name"] = db_name
    runner = Runner(channel_config_string="", max_capacity=threads)
    thread = threading.Thread(target=runner.run, name="queue-job-runner")
    thread.start()
    try:
        deadline = time.monotonic() + RUN_TIMEOUT
        while time.monotonic() < deadline:
            with registry.cursor() as cr:
                cr.execute(
                    "SELECT count(*) FROM queue_job WHERE state != 'done' "
                    "AND method_name = '_job_sync_goflow'"
                )
                if not cr.fetchone()[0]:
                    break
            time.sleep(0.05)
    finally:
        runner.stop()
        thread.join(timeout=30)
        pool.shutdown(wait=True)
        config["db_name"] = saved
    with registry.cursor() as cr:
        cr.execute(
            "SELECT state, count(*) FROM queue_job "
            "WHERE method_name = '_job_sync_goflow' GROUP BY state"
        )
        states = dict(cr.fetchall())
        cr.execute("DELETE FROM queue_job")
        cr.commit()
    return {"peak_running": peak[0], "job_states": states, "errors": errors[:3]}


def _measure(name, registry, odoo, settlements, run):
    cpu = _cpu()
    with Stopwatch() as watch:
        extra = run()
    cpu = _cpu() - cpu
    left = _due(registry, odoo)
    per_minute = (settlements - left) / watch.seconds * 60.0
    return {
        "how": name,
        "seconds": round(watch.seconds, 2),
        "settlements": settlements - left,
        "not_synced": left,
        "per_minute": round(per_minute, 1),
        "process_cpu_seconds": round(cpu, 1),
        "cpu_share": round(cpu / watch.seconds, 2),
        "load_average_1min": round(os.getloadavg()[0], 1),
        **extra,
    }


def _table(rows, cron):
    lines = [
        "| run | seconds | settlements/min | x cron | jobs at once | "
        "CPU of this process |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        lines.append(
            f"| {row['how']} | {row['seconds']} | {row['per_minute']} | "
            f"{row['per_minute'] / cron:.2f} | {row.get('peak_running', 1)} | "
            f"{row['cpu_share']:.2f} core |"
        )
    return "\n".join(lines)


def run():
    reason = odoo_missing()
    if reason:
        yield {"bench": "scale_sync", "skipped": reason}
        return
    import odoo  # noqa: PLC0415

    from bench import odoo_env as odoo_env_module  # noqa: PLC0415
    from bench.odoo_env import make_store, odoo_env  # noqa: PLC0415

    # installed from PyPI into this interpreter when missing, as the test
    # command does in its venv
    missing = odoo_env_module.run_tests.ensure_queue_job()
    if missing:
        yield {"bench": "scale_sync", "skipped": missing}
        return
    runs = [("cron", None), *((f"queue_job, {n} thread(s)", n) for n in THREADS)]
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        files = []
        for number in range(SETTLEMENTS):
            path = tmp / f"settlement_{number}.txt"
            write_settlement(
                str(path),
                orders=ORDERS,
                seed=1,
                skus=2_000,
                match_sandbox=True,
                settlement_id=f"9{number:010d}",
            )
            files.append(path)
        sandboxes = [Sandbox(ORDERS, latency_ms=LATENCY_MS) for _index in range(STORES)]
        for sandbox in sandboxes:
            stack.callback(sandbox.stop)
        env = stack.enter_context(
            odoo_env("cbg_bench_scale", modules=("connectbooks_goflow", QUEUE_ADDON))
        )
        worlds = []
        for index, _run in enumerate(runs):
            stores = _world(env, make_store, index, sandboxes, files)
            worlds.append((stores, stores.mapped("goflow_connection_id")))
        env.cr.commit()  # the workers' cursors see it; the database is dropped
        registry = env.registry
        rows = []
        for (name, threads), (stores, connections) in zip(runs, worlds, strict=True):
            _plug(env, stores, connections)
            env.cr.commit()
            settlements = len(stores) * len(files)
            if threads is None:
                row = _measure(
                    name,
                    registry,
                    odoo,
                    settlements,
                    lambda: _cron_run(registry, odoo),
                )
            else:
                row = _measure(
                    name,
                    registry,
                    odoo,
                    settlements,
                    lambda n=threads: _queue_run(registry, odoo, n),
                )
            rows.append(row)
        cron = rows[0]["per_minute"]
        for row in rows:
            yield {
                "bench": "scale_sync",
                **row,
                "ratio_to_cron": round(row["per_minute"] / cron, 2),
                "stores": STORES,
                "orders_per_settlement": ORDERS,
                "latency_ms": LATENCY_MS,
                "target": "none: measured (throughput vs the cron alone)",
                "met": True,
            }
        print(_table(rows, cron), flush=True)
