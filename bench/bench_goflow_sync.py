"""Goflow cost sync with the client alone against the sandbox.

The sandbox runs as a separate process (as Goflow would: its own interpreter,
no shared GIL) on 127.0.0.1. Three measurements:

* ``goflow_sync``: 150,000 orders over 2,000 SKUs, no rate limit, the client
  asking pages of 200 so that a batch of 100 order numbers (about 103 orders
  with split siblings) fits one page. Baseline, in the same run: a plain
  HTTP loop (urllib, ``json.loads`` and nothing more) asking the same pages
  of the same sandbox, following ``next``; run just before and just after
  the client, ``baseline_seconds`` their mean. Target: <= 1.3 x the
  baseline and requests <= ceil(orders / 100) + paging, every cost line
  received.
* ``goflow_sync_page100``: the same with Goflow's page size left to the server
  (100), which adds a second page to almost every batch: the paging cost.
* ``goflow_sync_rate_limited``: fewer orders, sandbox and client limited to R
  requests/minute; target <= 1.2 x the floor ceil(orders / 100) / R minutes.

Sizes can be lowered for a quick look with ``BENCH_GOFLOW_ORDERS``,
``BENCH_GOFLOW_LIMITED_ORDERS`` and ``BENCH_GOFLOW_RATE``.
"""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import threading
import urllib.request
from concurrent.futures import ProcessPoolExecutor
from urllib.parse import urlencode

from bench.common import ROOT, Stopwatch, peak_rss_mb, reset_peak_rss, result
from connectbooks_goflow.core import goflow_const as const
from connectbooks_goflow.core.goflow_client import GoflowClient
from connectbooks_goflow.core.goflow_const import MAX_FILTER_VALUES
from tools.goflow_sandbox.dataset import build_dataset

ORDERS = int(os.environ.get("BENCH_GOFLOW_ORDERS", 150_000))
SKUS = 2_000
SEED = 1
TOKEN = "bench-token-5e1f"
SERVER_PAGE_SIZE = 100
CLIENT_PAGE_SIZE = 200
TARGET_LOOP_RATIO = 1.3
LIMITED_ORDERS = int(os.environ.get("BENCH_GOFLOW_LIMITED_ORDERS", 15_000))
RATE = float(os.environ.get("BENCH_GOFLOW_RATE", 120))  # requests per minute
TARGET_RATIO = 1.2
STARTUP_TIMEOUT = 180.0


class Sandbox:
    """``python -m tools.goflow_sandbox`` in a subprocess, on a free port."""

    def __init__(self, orders, rate_limit=None, latency_ms=None):
        command = [
            sys.executable,
            "-m",
            "tools.goflow_sandbox",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--orders",
            str(orders),
            "--skus",
            str(SKUS),
            "--seed",
            str(SEED),
            "--token",
            TOKEN,
            "--page-size",
            str(SERVER_PAGE_SIZE),
        ]
        if rate_limit:
            command += ["--rate-limit", str(rate_limit)]
        if latency_ms:
            command += ["--latency-ms", str(latency_ms)]
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        with Stopwatch() as watch:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            line = self._first_line()
        self.start_seconds = watch.seconds
        match = re.search(r"serving (http://\S+/v1)", line or "")
        if not match:
            self.stop()
            raise RuntimeError(f"the sandbox did not start: {line!r}")
        self.url = match.group(1)

    def _first_line(self):
        lines = []
        reader = threading.Thread(
            target=lambda: lines.append(self.process.stdout.readline()), daemon=True
        )
        reader.start()
        reader.join(STARTUP_TIMEOUT)
        return lines[0] if lines else None

    def stop(self):
        """Stop the sandbox (once); return its peak RSS in MB."""
        if self.process.stdout.closed:
            return None
        peak = peak_rss_mb(self.process.pid)
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process.stdout.close()
        return peak

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()


def _expected(orders):
    """Order numbers to ask, expected cost lines, orders matched per batch.

    Runs in a child process: it builds the same seeded data as the sandbox to
    know what a complete answer is, without weighing on the measured process.
    """
    dataset = build_dataset(orders, SKUS, SEED)
    per_number = {}
    expected_lines = 0
    for order in dataset.orders:
        number = order["order_number"]
        per_number[number] = per_number.get(number, 0) + 1
        expected_lines += len(order["lines"])
        for refund in order.get("returns") or ():
            expected_lines += len(refund["lines"])
    numbers = list(per_number)
    matched = [
        sum(per_number[number] for number in numbers[start : start + MAX_FILTER_VALUES])
        for start in range(0, len(numbers), MAX_FILTER_VALUES)
    ]
    return numbers, expected_lines, matched


def _work(orders):
    with ProcessPoolExecutor(max_workers=1) as pool:
        numbers, expected_lines, matched = pool.submit(_expected, orders).result()

    def paging(page_size):
        """Requests beyond one per batch that the server's paging needs."""
        return sum(max(1, math.ceil(count / page_size)) - 1 for count in matched)

    return numbers, expected_lines, paging


def _sync(url, numbers, *, page_size=None, rate_limit=None):
    client = GoflowClient(
        TOKEN, base_url=url, page_size=page_size, rate_limit_per_minute=rate_limit
    )
    lines = missing = 0
    reset_peak_rss()
    with Stopwatch() as watch:
        for line in client.fetch_order_costs(numbers):
            lines += 1
            missing += line.unit_cost is None
    client.close()
    return watch.seconds, lines, missing, client.request_count, peak_rss_mb()


def plain_loop(url, numbers, page_size=None):
    """The baseline: the same pages over plain HTTP, JSON decoded, nothing
    else read.

    :return: (seconds, requests, records)
    """
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    headers = {
        const.HEADER_AUTHORIZATION: f"Bearer {TOKEN}",
        const.HEADER_ACCEPT: "application/json",
    }
    extra = [(const.PARAM_SORT, const.SORT_BY_ID), (const.PARAM_SORT_DIRECTION, "asc")]
    if page_size:
        extra.append((const.PARAM_PAGE_SIZE, str(page_size)))
    key = const.FILTER_KEY_TEMPLATE.format(field=const.FILTER_ORDER_NUMBER)
    requests = records = 0
    with Stopwatch() as watch:
        for start in range(0, len(numbers), MAX_FILTER_VALUES):
            batch = numbers[start : start + MAX_FILTER_VALUES]
            query = urlencode([(key, number) for number in batch] + extra)
            link = f"{url}{const.ENDPOINT_ORDERS}?{query}"
            while link:
                request = urllib.request.Request(link, headers=headers)
                with opener.open(request) as response:
                    payload = json.loads(response.read())
                requests += 1
                records += len(payload[const.ENVELOPE_DATA])
                link = payload.get(const.ENVELOPE_NEXT)
    return watch.seconds, requests, records


def _unlimited(bench, page_size):
    numbers, expected_lines, paging = _work(ORDERS)
    extra_pages = paging(page_size or SERVER_PAGE_SIZE)
    bound = math.ceil(ORDERS / MAX_FILTER_VALUES) + extra_pages
    with Sandbox(ORDERS) as sandbox:
        before, loop_requests, _records = plain_loop(sandbox.url, numbers, page_size)
        seconds, lines, missing, requests, rss = _sync(
            sandbox.url, numbers, page_size=page_size
        )
        after, _requests, _records = plain_loop(sandbox.url, numbers, page_size)
        sandbox_rss = sandbox.stop()
    baseline = (before + after) / 2
    return result(
        bench,
        seconds,
        baseline_seconds=baseline,
        baseline_runs_seconds=[round(before, 3), round(after, 3)],
        baseline_requests=loop_requests,
        orders=ORDERS,
        order_numbers=len(numbers),
        skus=SKUS,
        cost_lines=lines,
        expected_cost_lines=expected_lines,
        missing_cost_lines=missing,
        requests=requests,
        requests_bound=bound,
        paging_requests=extra_pages,
        page_size=page_size or SERVER_PAGE_SIZE,
        sandbox_start_seconds=round(sandbox.start_seconds, 2),
        peak_rss_mb=rss,
        sandbox_peak_rss_mb=sandbox_rss,
        target=(
            f"<= {TARGET_LOOP_RATIO:g} x a plain HTTP loop over the same pages, "
            f"requests <= ceil(orders/100) + paging = {bound}, all cost lines "
            "received"
        ),
        met=seconds <= TARGET_LOOP_RATIO * baseline
        and requests <= bound
        and lines == expected_lines,
    )


def _rate_limited():
    numbers, expected_lines, paging = _work(LIMITED_ORDERS)
    floor = math.ceil(LIMITED_ORDERS / MAX_FILTER_VALUES) / RATE * 60.0
    with Sandbox(LIMITED_ORDERS, rate_limit=RATE) as sandbox:
        seconds, lines, _missing, requests, rss = _sync(
            sandbox.url, numbers, page_size=CLIENT_PAGE_SIZE, rate_limit=RATE
        )
    return result(
        "goflow_sync_rate_limited",
        seconds,
        baseline_seconds=floor,
        orders=LIMITED_ORDERS,
        order_numbers=len(numbers),
        cost_lines=lines,
        expected_cost_lines=expected_lines,
        requests=requests,
        paging_requests=paging(CLIENT_PAGE_SIZE),
        rate_limit_per_minute=RATE,
        peak_rss_mb=rss,
        target=(
            f"<= {TARGET_RATIO} x floor ceil(orders/100)/R = {floor:.1f} s, "
            "all cost lines received"
        ),
        met=seconds <= TARGET_RATIO * floor and lines == expected_lines,
    )


def run():
    """Yield the three measurements (see the module docstring)."""
    yield _unlimited("goflow_sync", CLIENT_PAGE_SIZE)
    yield _unlimited("goflow_sync_page100", None)
    yield _rate_limited()
