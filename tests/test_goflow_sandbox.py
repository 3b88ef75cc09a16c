"""The Goflow sandbox itself: seeded data, HTTP behaviour seen with a plain HTTP
client (no Goflow client), and the command line."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from tools.goflow_sandbox.dataset import Dataset, build_dataset
from tools.goflow_sandbox.server import parse_date
from tools.sandbox_client import ROOT, call, read_line, sandbox_process

SANDBOX_ARGS = ["--port", "0", "--orders", "1000", "--seed", "1", "--token", "t0k"]
ORDER_NUMBER = re.compile(r"^\d{3}-\d{7}-\d{7}$")


def get(url, token=None, headers=None):
    """GET with urllib: (status, headers, parsed JSON or raw bytes)."""
    headers = dict(headers or {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return call(url, headers=headers)


# -- dataset -------------------------------------------------------------------


def test_dataset_is_deterministic_and_seed_dependent():
    first = build_dataset(300, 40, seed=3)
    assert first.to_json() == build_dataset(300, 40, seed=3).to_json()
    assert first.to_json() != build_dataset(300, 40, seed=4).to_json()


def test_dataset_shape():
    data = build_dataset(3000, 120, seed=9, missing_share=0.1)
    orders = data.orders
    lines = [line for order in orders for line in order["lines"]]

    assert len(orders) == 3000 and len(data.products) == 120
    assert len({o["id"] for o in orders}) == 3000, "ids are unique"
    assert all(ORDER_NUMBER.match(o["order_number"]) for o in orders)
    assert all(1 <= len(o["lines"]) <= 5 for o in orders)
    assert {o["status"] for o in orders} == {"shipped"}
    assert {o["store"]["channel"] for o in orders} == {"amazon_marketplace_usa"}
    assert all(isinstance(o["warehouse"]["id"], str) for o in orders)
    assert all(parse_date(o["date"]) for o in orders)
    millis = sum("." in o["date"] for o in orders)
    assert 0.2 < millis / 3000 < 0.4, "some dates carry milliseconds"

    splits = 3000 - len(data.order_numbers())
    assert 0.015 < splits / 3000 < 0.045, f"{splits} split siblings"
    with_returns = [o for o in orders if o.get("returns")]
    assert 0.02 < len(with_returns) / 3000 < 0.08
    refund = with_returns[0]["returns"][0]
    assert refund["id"] and refund["lines"][0]["quantity"]["amount"] >= 1

    null_products = sum(line["product"] is None for line in lines)
    assert 0.003 < null_products / len(lines) < 0.02
    missing = sum(
        line["product"] is not None and not (line.get("cost") or {}).get("amount")
        for line in lines
    )
    assert 0.07 < missing / len(lines) < 0.13, "missing share of null/0/absent"
    for line in lines:
        price = [c for c in line["charges"] if c["type"] == "price"]
        assert len(price) == 1 and price[0]["currency"]["code"] == "usd"
        if line["product"] is not None:
            assert re.match(r"^SKU-\d{5}$", line["product"]["item_number"])
    pricing = data.products[0]["pricing"]
    assert set(pricing) == {"default_price", "default_cost", "average_cost"}


def test_dataset_json_round_trip(tmp_path):
    data = build_dataset(50, 10, seed=1)
    path = tmp_path / "goflow.json"
    data.to_json(path)
    loaded = Dataset.from_json(path)
    assert loaded.to_dict() == json.loads(data.to_json())


# -- HTTP ----------------------------------------------------------------------


def test_auth_answers(sandbox_factory):
    server = sandbox_factory(forbidden_token="nope")
    status, _head, body = get(f"{server.url}/orders")
    assert status == 401 and isinstance(body["message"], str)
    assert get(f"{server.url}/orders", token="wrong")[0] == 401
    assert get(f"{server.url}/orders", token="nope")[0] == 403
    assert get(f"{server.url}/orders", token=server.token)[0] == 200
    assert get(f"{server.url}/nowhere", token=server.token)[0] == 404


def test_raw_and_percent_encoded_filter_keys(sandbox):
    numbers = sandbox.dataset.order_numbers()[:3]
    raw = "&".join(f"filters[order_number]={n}" for n in numbers)
    encoded = "&".join(f"filters%5Border_number%5D={n}" for n in numbers)
    mixed = (
        f"filters%5Border_number%3Aeq%5D={numbers[0]}"
        f"&filters[order_number:eq]={numbers[1]}"
    )
    got = [
        {
            o["order_number"]
            for o in get(f"{sandbox.url}/orders?{q}", sandbox.token)[2]["data"]
        }
        for q in (raw, encoded, mixed)
    ]
    assert got == [set(numbers), set(numbers), set(numbers[:2])]


def test_next_carries_query_and_position(sandbox_factory):
    server = sandbox_factory(page_size=4)
    url = f"{server.url}/orders?filters%5Bstatus%5D=shipped&sort=id&sort_direction=desc"
    seen = []
    while url:
        status, _head, body = get(url, server.token)
        assert status == 200
        seen.extend(o["id"] for o in body["data"])
        url = body["next"]
        if url:
            assert url.startswith(
                f"{server.url}/orders?filters%5Bstatus%5D=shipped&sort=id"
            )
    assert seen == sorted((o["id"] for o in server.dataset.orders), reverse=True)
    assert body["next"] is None


def test_empty_end_marker_and_page_size_parameter(sandbox_factory):
    server = sandbox_factory(end_marker="empty", max_page_size=10)
    _status, _head, body = get(f"{server.url}/orders?page_size=500", server.token)
    assert len(body["data"]) == 10, "page_size is capped by max_page_size"
    _status, _head, last = get(f"{server.url}/stores", server.token)
    assert last["next"] == ""


def test_bad_queries_are_400(sandbox):
    for query in (
        "filters[date:since]=x",
        "cursor=-1",
        "page_size=x",
        "sort_direction=up",
    ):
        status, _head, body = get(f"{sandbox.url}/orders?{query}", sandbox.token)
        assert status == 400 and body["message"], query
    status, _head, _body = get(
        f"{sandbox.url}/orders?filters[date:gte]=yesterday", sandbox.token
    )
    assert status == 400


def test_token_bucket_and_retry_after_forms(sandbox_factory):
    server = sandbox_factory(rate_limit=6, burst=2)  # one token per 10 s
    answers = [get(f"{server.url}/stores", server.token) for _ in range(4)]
    assert [a[0] for a in answers] == [200, 200, 429, 429]
    first, second = answers[2][1]["Retry-After"], answers[3][1]["Retry-After"]
    assert "." in first and 9 < float(first) <= 10, "mixed mode: fractional first"
    assert second == "10", "then an integer"
    assert answers[2][2]["message"]

    server.retry_after = "none"
    status, head, _body = get(f"{server.url}/stores", server.token)
    assert status == 429 and head["Retry-After"] is None


def test_error_and_malformed_knobs(sandbox_factory):
    server = sandbox_factory(error_rate=1.0)
    assert get(f"{server.url}/stores", server.token)[0] == 500
    server.error_rate = 0.0
    server.malformed_share = 1.0
    kinds = [get(f"{server.url}/orders", server.token)[2] for _ in range(3)]
    assert isinstance(kinds[0], bytes), "not JSON"
    assert kinds[1]["data"] == {"unexpected": True}
    assert kinds[2]["data"][0]["lines"][0]["quantity"]["amount"] == "one"


def test_latency_and_recorded_requests(sandbox_factory):
    server = sandbox_factory(latency_ms=120)
    started = time.monotonic()
    get(f"{server.url}/stores?x=1", server.token)
    assert time.monotonic() - started >= 0.12
    (record,) = server.requests
    assert (record.method, record.path, record.query, record.status) == (
        "GET",
        "/v1/stores",
        "x=1",
        200,
    )
    assert record.timestamp >= started


# -- command line --------------------------------------------------------------


def test_command_line_serves_and_stops_on_sigterm():
    started = time.monotonic()
    with sandbox_process("tools.goflow_sandbox", *SANDBOX_ARGS) as process:
        line = read_line(process.stdout, timeout=5)
        assert line, "the sandbox printed no URL line within 5 s"
        assert time.monotonic() - started < 5
        match = re.search(
            r"Goflow sandbox serving (http://127\.0\.0\.1:(\d+)/v1)", line
        )
        assert match, line
        url = match.group(1)

        status, _head, page = get(f"{url}/orders", "t0k")
        assert status == 200 and len(page["data"]) == 100
        assert page["next"].startswith(f"{url}/orders?")
        status, head, body = get(f"{url}/orders")
        assert status == 401 and body["message"]
        assert head["Content-Type"].startswith("application/json")

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0


def test_command_line_serves_a_data_file(tmp_path):
    path = tmp_path / "cases.json"
    Dataset(orders=[{"id": 1, "order_number": "X-1", "lines": []}]).to_json(path)
    with sandbox_process(
        "tools.goflow_sandbox",
        "--port",
        "0",
        "--data",
        str(path),
        stderr=subprocess.DEVNULL,
    ) as process:
        line = read_line(process.stdout, timeout=5)
        url = re.search(r"(http://\S+/v1)", line).group(1)
        _status, _head, page = get(f"{url}/orders", "sandbox-token")
        assert page == {
            "data": [{"id": 1, "order_number": "X-1", "lines": []}],
            "next": None,
        }
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=5) == 0


@pytest.mark.parametrize("share", ["-0.1", "1.5"])
def test_command_line_refuses_bad_shares(share):
    result = subprocess.run(
        [sys.executable, "-m", "tools.goflow_sandbox", "--missing-share", share],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert result.returncode == 2 and "share" in result.stderr
