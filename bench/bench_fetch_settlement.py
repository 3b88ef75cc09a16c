"""Fetch a 1,000,000-row gzip settlement report from the marketplace sandbox
and import it, against the import of the same file from disk measured in the
same run (issue #17: <= 1.3x that import, peak memory no higher than its).

The sandbox (in this process, on loopback, no rate limit) serves the
million-row report ``documents.bench_settlement()`` makes once and keeps; a
store of a fresh database is connected to it. Each of the two measures runs
in its own process, forked from the same parent once the database is ready,
so that each starts from the same memory and its peak resident memory is its
own: the *baseline* imports the gunzipped file from disk through the import's
code path (``connectbooks.settlement.import._import_file``); the *fetch* is
the store's fetch (token, ``getReports``, ``getReportDocument``, the
download gunzipped to a temporary file, the header read, the same import).
Each child rolls back; the parent gets its numbers through a pipe. The two
are measured three times, in turn, and their medians compared: the import's
own peak moves by a batch of rows (a few MB) from run to run, as PostgreSQL
keeps up with the parser or not.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import statistics
import tempfile
import traceback
from datetime import datetime, timezone
from pathlib import Path

from bench.common import Stopwatch, odoo_missing, peak_rss_mb, reset_peak_rss, result

TARGET_RATIO = 1.3
RUNS = int(os.environ.get("BENCH_FETCH_RUNS", 3))
MARKETPLACE = "ATVPDKIKX0DER"
CLIENT_ID = "amzn1.application-oa2-client.bench000000000000000"
CLIENT_SECRET = "amzn1.oa2-cs.v1.bench-client-secret-000000000000"
REFRESH_TOKEN = "Atzr|bench-refresh-token-000000000000000000"


def _in_child(registry, work):
    """Run ``work(env)`` in a forked process on its own database connection;
    return the dict it returns (``{"error": ...}`` when it failed)."""
    import odoo  # noqa: PLC0415

    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(reader)
        code = 1
        try:
            # The parent's pooled connections stay the parent's.
            odoo.sql_db._Pool = None
            registry._db = odoo.sql_db.db_connect(registry.db_name)
            with registry.cursor() as cr:
                env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
                record = work(env)
                cr.rollback()
            payload = json.dumps(record).encode()
            code = 0
        except BaseException:  # reported to the parent
            payload = json.dumps({"error": traceback.format_exc()}).encode()
        finally:
            with os.fdopen(writer, "wb") as out:
                out.write(payload)
            os._exit(code)
    os.close(writer)
    with os.fdopen(reader, "rb") as source:
        data = source.read()
    os.waitpid(pid, 0)
    return json.loads(data or b'{"error": "no answer"}')


def _import_from_disk(path, store_id):
    def work(env):
        store = env["connectbooks.store"].browse(store_id)
        reset_peak_rss()
        with open(path, "rb") as handle, Stopwatch() as watch:
            settlement = env["connectbooks.settlement.import"]._import_file(
                store, handle, Path(path).name
            )
            env.flush_all()
        return {
            "seconds": watch.seconds,
            "peak_rss_mb": peak_rss_mb(),
            "rows": settlement.line_count,
        }

    return work


def _fetch(store_id):
    def work(env):
        from odoo.addons.connectbooks_goflow.models.connectbooks_store_fetch import (  # noqa: PLC0415
            CRON_MAX_WAIT,
        )

        store = env["connectbooks.store"].browse(store_id)
        reset_peak_rss()
        with Stopwatch() as watch:
            fetched = store._fetch(False, CRON_MAX_WAIT)
            env.flush_all()
        settlements = store.settlement_ids
        return {
            "seconds": watch.seconds,
            "peak_rss_mb": peak_rss_mb(),
            "rows": sum(settlements.mapped("line_count")),
            "imported": fetched.imported,
            "error": fetched.error,
        }

    return work


def run():
    reason = odoo_missing()
    if reason:
        return [{"bench": "fetch_settlement", "skipped": reason}]
    from bench.odoo_env import make_store, odoo_env  # noqa: PLC0415
    from tools.marketplace_sandbox import documents  # noqa: PLC0415
    from tools.marketplace_sandbox.amazon import AmazonApi  # noqa: PLC0415
    from tools.marketplace_sandbox.server import MarketplaceSandbox  # noqa: PLC0415

    gz_path = documents.bench_settlement()
    with tempfile.TemporaryDirectory(prefix="cbg-bench-fetch-") as tmp:
        plain = Path(tmp) / "settlement_v2.txt"
        with gzip.open(gz_path, "rb") as source, open(plain, "wb") as dest:
            shutil.copyfileobj(source, dest, 1 << 20)
        file_bytes = plain.stat().st_size
        sandbox = MarketplaceSandbox()
        api = sandbox.mount(
            AmazonApi(
                client_id=CLIENT_ID,
                client_secret=CLIENT_SECRET,
                refresh_token=REFRESH_TOKEN,
                rate_limits=None,
                marketplace_id=MARKETPLACE,
                workdir=Path(tmp) / "sandbox",
            )
        )
        api.add_report(
            gz_path, compression="GZIP", created_time=datetime.now(timezone.utc)
        )
        sandbox.start()
        try:
            with odoo_env("cbg_bench_fetch") as env:
                connection = env["connectbooks.amazon.connection"].create(
                    {
                        "name": "Bench Amazon",
                        "client_id": CLIENT_ID,
                        "client_secret": CLIENT_SECRET,
                        "refresh_token": REFRESH_TOKEN,
                        "endpoint": sandbox.url,
                        "token_url": api.token_url,
                    }
                )
                store = make_store(env)
                store.write(
                    {
                        "amazon_connection_id": connection.id,
                        "amazon_marketplace_ids": MARKETPLACE,
                    }
                )
                # The children read it on their own connections (the
                # database is dropped afterwards).
                env.cr.commit()  # pylint: disable=invalid-commit
                registry = env.registry
                baselines, fetches = [], []
                for _run in range(RUNS):
                    baselines.append(
                        _in_child(registry, _import_from_disk(str(plain), store.id))
                    )
                    fetches.append(_in_child(registry, _fetch(store.id)))
        finally:
            sandbox.stop()
    for name, record in [("baseline", r) for r in baselines] + [
        ("fetch", r) for r in fetches
    ]:
        if record.get("error") and "seconds" not in record:
            raise RuntimeError(f"{name} failed:\n{record['error']}")
    rows = baselines[0]["rows"]
    for fetched in fetches:
        if fetched.get("error") or fetched["rows"] != rows:
            raise RuntimeError(f"the fetch did not import the report: {fetched}")

    def median(records, key):
        return statistics.median(record[key] for record in records)

    def each(records, key):
        return [round(record[key], 3) for record in records]

    seconds, base = median(fetches, "seconds"), median(baselines, "seconds")
    peak, base_peak = median(fetches, "peak_rss_mb"), median(baselines, "peak_rss_mb")
    return [
        result(
            "fetch_settlement",
            seconds,
            rows=rows,
            report_bytes=gz_path.stat().st_size,
            file_bytes=file_bytes,
            peak_rss_mb=peak,
            baseline_peak_rss_mb=base_peak,
            runs_seconds=each(fetches, "seconds"),
            baseline_runs_seconds=each(baselines, "seconds"),
            runs_peak_rss_mb=each(fetches, "peak_rss_mb"),
            baseline_runs_peak_rss_mb=each(baselines, "peak_rss_mb"),
            baseline_seconds=base,
            target=(
                f"<= {TARGET_RATIO:g}x the import of the same file from disk "
                "(same run), peak memory no higher than that import's (each "
                f"measured in its own process; medians of {RUNS})"
            ),
            met=seconds <= TARGET_RATIO * base and peak <= base_peak,
        )
    ]
