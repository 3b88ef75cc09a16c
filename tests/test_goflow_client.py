"""Goflow client against the sandbox over real HTTP: auth, paging, filters,
batching, cost lines, configuration checks and the secrecy of the token."""

import logging
import math
import traceback
from datetime import datetime, timezone
from decimal import Decimal
from urllib.parse import parse_qsl

import pytest

from connectbooks_goflow.core.goflow_client import (
    GoflowAuthError,
    GoflowClient,
    GoflowConfigError,
    GoflowError,
    GoflowMalformedResponse,
    GoflowRequestError,
    build_filters,
    order_cost_lines,
    sort_params,
)
from tools.goflow_sandbox.dataset import build_dataset


def make_order(
    order_id, number, *, store_id=1001, status="shipped", date=None, lines=1
):
    """A minimal Goflow order with ``lines`` costed lines of SKU-A, SKU-B..."""
    return {
        "id": order_id,
        "order_number": number,
        "date": date or "2025-03-01T10:00:00Z",
        "status": status,
        "store": {"id": store_id, "name": f"Store {store_id}", "channel": "shopify"},
        "lines": [
            {
                "id": order_id * 10 + index,
                "product": {"id": index, "item_number": f"SKU-{'ABCDE'[index]}"},
                "quantity": {"amount": index + 1},
                "cost": {"amount": 2.5 + index, "currency": {"code": "usd"}},
            }
            for index in range(lines)
        ],
    }


def queries(server, resource="orders"):
    """Decoded query pairs of each recorded request to a resource."""
    return [parse_qsl(r.query) for r in server.requests_to(resource)]


# -- authentication ----------------------------------------------------------


def test_wrong_token_is_an_auth_error_with_goflow_message(sandbox, client_factory):
    client = client_factory(sandbox, token="not-the-token")
    with pytest.raises(GoflowAuthError) as caught:
        client.test_connection()
    assert caught.value.status == 401, "401 must be reported as such"
    assert "Authorization has been denied" in str(caught.value), (
        "the JSON message of Goflow must reach the user"
    )
    assert "API token" in str(caught.value), "the user must be told what to check"
    assert len(sandbox.requests) == 1, "an auth error must never be retried"


def test_forbidden_token_is_an_auth_error(sandbox_factory, client_factory):
    server = sandbox_factory(forbidden_token="limited-token")
    client = client_factory(server, token="limited-token")
    with pytest.raises(GoflowAuthError) as caught:
        client.test_connection()
    assert caught.value.status == 403
    assert "Referer not authorized" in str(caught.value)
    assert len(server.requests) == 1, "a 403 must never be retried"


def test_test_connection_counts_stores(sandbox, client_factory):
    assert client_factory(sandbox).test_connection() == {"stores": 2}


def test_beta_contact_header_is_sent_on_every_call(sandbox_factory, client_factory):
    server = sandbox_factory(require_beta_contact=True, page_size=7)
    client = client_factory(server, beta_contact="books@example.com")
    assert len(list(client.iter_records("/orders"))) == 60
    assert len(server.requests) == math.ceil(60 / 7)
    assert all(r.status == 200 for r in server.requests), (
        "every page, including the next links, must carry X-Beta-Contact"
    )

    without = client_factory(server)
    with pytest.raises(GoflowRequestError) as caught:
        without.test_connection()
    assert caught.value.status == 400


# -- paging ------------------------------------------------------------------


@pytest.mark.parametrize("end_marker", ["null", "empty"])
@pytest.mark.parametrize("page_size", [1, 2, 3])
def test_paging_follows_next_until_the_end(
    sandbox_factory, client_factory, page_size, end_marker
):
    orders = [make_order(100 + i, f"N-{i}") for i in range(7)]
    server = sandbox_factory(
        {"orders": orders}, page_size=page_size, end_marker=end_marker
    )
    client = client_factory(server)

    pages = list(client.iter_pages("/orders"))

    assert [len(page) for page in pages][:-1] == [page_size] * (len(pages) - 1)
    assert [o["id"] for page in pages for o in page] == [o["id"] for o in orders]
    assert len(pages) == math.ceil(7 / page_size)
    assert client.request_count == len(pages), "one request per page, no retries"


def test_zero_results_is_one_empty_page(sandbox, client_factory):
    client = client_factory(sandbox)
    params = build_filters({"order_number": "no-such-order"})
    assert list(client.iter_pages("/orders", params)) == [[]]
    assert client.request_count == 1


def test_next_is_followed_verbatim_with_filters_and_sort(
    sandbox_factory, client_factory
):
    orders = [make_order(100 + i, f"N-{i}", status="shipped") for i in range(5)]
    server = sandbox_factory({"orders": orders}, page_size=2)
    client = client_factory(server)
    params = build_filters({"status": "shipped"}) + sort_params("id", "desc")

    ids = [o["id"] for o in client.iter_records("/orders", params)]

    assert ids == [104, 103, 102, 101, 100]
    first, *rest = [r.query for r in server.requests]
    for index, query in enumerate(rest, start=1):
        assert query == f"{first}&cursor={2 * index}", (
            "the client must request the next link exactly as Goflow sent it"
        )


def test_next_link_to_another_host_is_not_followed(sandbox, client_factory):
    sandbox.script_responses(
        [
            {
                "status": 200,
                "body": {"data": [], "next": "https://elsewhere.test/v1/orders"},
            }
        ]
    )
    client = client_factory(sandbox)
    with pytest.raises(GoflowMalformedResponse, match="another address"):
        list(client.iter_pages("/orders"))
    assert client.request_count == 1


def test_a_next_link_that_loops_is_stopped(sandbox, client_factory):
    loop = {
        "status": 200,
        "body": {"data": [], "next": f"{sandbox.url}/orders?cursor=0"},
    }
    sandbox.script_responses([loop, loop])
    client = client_factory(sandbox)
    with pytest.raises(GoflowMalformedResponse, match="endless loop"):
        list(client.iter_pages("/orders"))
    assert client.request_count == 2


# -- filters -----------------------------------------------------------------


def _filter_dataset():
    return {
        "orders": [
            make_order(
                1, "A", store_id=1, status="shipped", date="2025-01-01T00:00:00Z"
            ),
            make_order(
                2, "B", store_id=1, status="canceled", date="2025-01-02T00:00:00.5Z"
            ),
            make_order(
                3, "C", store_id=2, status="shipped", date="2025-01-03T00:00:00Z"
            ),
            make_order(
                4, "D", store_id=2, status="on_hold", date="2025-01-04T12:00:00Z"
            ),
            make_order(
                5, "E", store_id=3, status="shipped", date="2025-01-05T00:00:00Z"
            ),
        ]
    }


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        ({"order_number": ["A", "C", "Z"]}, [1, 3]),  # repeated key = OR
        ({"store.id": [1, 2], "status": "shipped"}, [1, 3]),  # keys = AND
        ({"status:not": ["canceled", "on_hold"]}, [1, 3, 5]),
        (
            {"date:gte": "2025-01-02T00:00:00Z", "date:lt": "2025-01-04T00:00:00Z"},
            [2, 3],
        ),
        (
            {"date:gt": "2025-01-02T00:00:00Z", "date:lte": "2025-01-04T12:00:00Z"},
            [2, 3, 4],
        ),
        ({"id:eq": 4}, [4]),
        ({"lines.product.item_number": "SKU-A"}, [1, 2, 3, 4, 5]),
    ],
)
def test_filters_or_and_operators(
    sandbox_factory, client_factory, conditions, expected
):
    server = sandbox_factory(_filter_dataset(), page_size=2)
    client = client_factory(server)
    found = [o["id"] for o in client.iter_records("/orders", build_filters(conditions))]
    assert found == expected


def test_filter_values_are_sent_as_goflow_expects(sandbox_factory, client_factory):
    server = sandbox_factory(_filter_dataset())
    client = client_factory(server)
    moment = datetime(2025, 1, 3, tzinfo=timezone.utc)
    list(client.iter_pages("/orders", build_filters({"date:gte": moment})))
    assert queries(server) == [[("filters[date:gte]", "2025-01-03T00:00:00Z")]]


def test_an_unknown_operator_is_refused_before_any_request():
    with pytest.raises(GoflowConfigError, match="not a Goflow filter operator"):
        build_filters({"date:since": "2025-01-01T00:00:00Z"})


# -- order costs ---------------------------------------------------------------


def test_order_costs_are_asked_by_batches_of_100(sandbox_factory, client_factory):
    server = sandbox_factory(build_dataset(260, 30, 5), page_size=500)
    dataset = server.dataset
    numbers = dataset.order_numbers()
    client = client_factory(server)

    lines = list(client.fetch_order_costs(numbers + numbers[:5] + ["", None]))

    per_request = [
        sum(1 for key, _ in query if key == "filters[order_number]")
        for query in queries(server)
    ]
    assert per_request == [100, 100, len(numbers) - 200], (
        "at most 100 order numbers per request, each number asked once"
    )
    expected = [line for order in dataset.orders for line in order_cost_lines(order)]
    assert sorted(lines, key=repr) == sorted(expected, key=repr)


def test_order_costs_follow_every_page_of_a_batch(sandbox_factory, client_factory):
    server = sandbox_factory(page_size=3)
    client = client_factory(server)
    numbers = server.dataset.order_numbers()

    order_ids = {line.goflow_order_id for line in client.fetch_order_costs(numbers)}

    assert order_ids == {order["id"] for order in server.dataset.orders}
    assert client.request_count == math.ceil(60 / 3), "every page of the batch"


def test_split_orders_yield_all_lines_and_repeats_are_dropped(
    sandbox_factory, client_factory
):
    first = make_order(10, "111-0000001-0000001", lines=2)
    split = make_order(11, "111-0000001-0000001", lines=1)
    other = make_order(12, "111-0000002-0000002", lines=1)
    # The same order twice in one answer (as a page overlap would give).
    server = sandbox_factory({"orders": [first, split, other, first]}, page_size=1)
    client = client_factory(server)

    lines = list(client.fetch_order_costs(["111-0000001-0000001"]))

    assert [(line.goflow_order_id, line.sku) for line in lines] == [
        (10, "SKU-A"),
        (10, "SKU-B"),
        (11, "SKU-A"),
    ]


def test_order_costs_restricted_to_stores(sandbox_factory, client_factory):
    server = sandbox_factory(_filter_dataset())
    client = client_factory(server)
    lines = list(client.fetch_order_costs(list("ABCDE"), store_ids=[2, 3]))
    assert sorted({line.goflow_order_id for line in lines}) == [3, 4, 5]
    assert ("filters[store.id]", "2") in queries(server)[0]


def test_order_cost_line_fields(sandbox_factory, client_factory):
    order = make_order(7, "113-1234567-7654321", lines=2)
    order["date"] = "2025-02-03T04:05:06.789Z"
    order["lines"][1]["product"] = None
    order["lines"][1]["cost"] = {"amount": 0, "currency": {"code": "usd"}}
    order["returns"] = [
        {
            "id": "RMA-7",
            "date": "2025-02-10T00:00:00Z",
            "lines": [
                {
                    "product": {"item_number": "SKU-A"},
                    "quantity": {"amount": 1},
                    "cost": {"amount": 2.4, "currency": {"code": "usd"}},
                }
            ],
        }
    ]
    order["unexpected_new_field"] = {"nested": [1, 2]}
    server = sandbox_factory({"orders": [order]})
    client = client_factory(server)

    first, second, refund = client.fetch_order_costs(["113-1234567-7654321"])

    assert first.goflow_order_id == 7
    assert first.store_id == 1001
    assert first.order_date.isoformat() == "2025-02-03T04:05:06.789000+00:00"
    assert (first.kind, first.sku, first.quantity, first.unit_cost, first.currency) == (
        "order",
        "SKU-A",
        Decimal("1"),
        Decimal("2.5"),
        "USD",
    )
    assert (second.sku, second.unit_cost) == (None, None), "null product, cost 0"
    assert (refund.kind, refund.refund_id, refund.unit_cost) == (
        "refund",
        "RMA-7",
        Decimal("2.4"),
    )


def test_a_late_cost_is_seen_on_the_next_fetch(sandbox_factory, client_factory):
    order = make_order(7, "N-7")
    order["lines"][0]["cost"] = None
    server = sandbox_factory({"orders": [order]})
    client = client_factory(server)
    assert [line.unit_cost for line in client.fetch_order_costs(["N-7"])] == [None]

    server.set_line_cost(7, 0, 4.75)

    assert [line.unit_cost for line in client.fetch_order_costs(["N-7"])] == [
        Decimal("4.75")
    ]


def test_an_ignored_filter_stops_the_sync(sandbox, client_factory):
    sandbox.ignored_filters.add("order_number")
    client = client_factory(sandbox)
    number = sandbox.dataset.orders[0]["order_number"]
    with pytest.raises(GoflowMalformedResponse, match="not asked for"):
        list(client.fetch_order_costs([number]))
    assert client.request_count == 1, "must stop at the first unexpected order"


def test_batch_size_above_goflow_limit_is_refused(sandbox, client_factory):
    client = client_factory(sandbox)
    with pytest.raises(GoflowConfigError, match="1 to 100"):
        list(client.fetch_order_costs(["A"], batch_size=101))


# -- product costs ------------------------------------------------------------


def test_product_costs_by_sku(sandbox_factory, client_factory):
    products = [
        {
            "id": 1,
            "item_number": "SKU-1",
            "pricing": {"default_cost": 3, "average_cost": 2.75},
        },
        {
            "id": 2,
            "item_number": "SKU-2",
            "pricing": {"default_cost": 0, "average_cost": None},
        },
        {"id": 3, "item_number": "SKU-3", "pricing": {"default_cost": 1.5}},
    ]
    server = sandbox_factory({"products": products})
    client = client_factory(server)

    costs = client.fetch_product_costs(["SKU-1", "SKU-2", "SKU-3", "SKU-404"])

    assert set(costs) == {"SKU-1", "SKU-2", "SKU-3"}
    assert (costs["SKU-1"].average_cost, costs["SKU-1"].default_cost) == (
        Decimal("2.75"),
        Decimal("3"),
    )
    assert (costs["SKU-2"].average_cost, costs["SKU-2"].default_cost) == (None, None)
    assert costs["SKU-3"].average_cost is None
    assert queries(server, "products")[0][:4] == [
        ("filters[item_number]", "SKU-1"),
        ("filters[item_number]", "SKU-2"),
        ("filters[item_number]", "SKU-3"),
        ("filters[item_number]", "SKU-404"),
    ]


# -- configuration -------------------------------------------------------------


@pytest.mark.parametrize(
    "base_url",
    [
        "http://127.0.0.1:8099/v1",
        "http://127.1.2.3:8099/v1/",
        "http://localhost:8099/v1",
        "http://[::1]:8099/v1",
        "https://acme.api.goflow.com/v1",
    ],
)
def test_base_url_accepted(base_url):
    client = GoflowClient("t", base_url=base_url)
    assert client.base_url == base_url.rstrip("/")


@pytest.mark.parametrize(
    ("base_url", "reason"),
    [
        ("http://acme.api.goflow.com/v1", "must use https"),
        ("http://10.0.0.5:8099/v1", "must use https"),
        ("http://127.0.0.1.example.com/v1", "must use https"),
        ("ftp://acme.api.goflow.com/v1", "not a web address"),
        ("https://user:pw@acme.api.goflow.com/v1", "must not contain"),
    ],
)
def test_base_url_refused(base_url, reason):
    with pytest.raises(GoflowConfigError, match=reason) as caught:
        GoflowClient("t", base_url=base_url)
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, GoflowError)


def test_subdomain_gives_the_goflow_url():
    assert (
        GoflowClient("t", "Acme-Store").base_url
        == "https://acme-store.api.goflow.com/v1"
    )
    with pytest.raises(GoflowConfigError, match="not a Goflow subdomain"):
        GoflowClient("t", "acme.goflow.com")
    with pytest.raises(GoflowConfigError, match="subdomain is empty"):
        GoflowClient("t")


def test_timeouts_must_be_positive():
    for timeout in (0, -1, (1, 0), (1, 2, 3), "soon"):
        with pytest.raises(GoflowConfigError, match="timeouts"):
            GoflowClient("t", "acme", timeout=timeout)
    assert GoflowClient("t", "acme", timeout=3)._timeout == (3.0, 3.0)


@pytest.mark.parametrize("token", ["", "   ", None, "abc def", "abc\r\nX-Evil: 1"])
def test_unusable_tokens_are_refused_without_echo(token):
    with pytest.raises(GoflowConfigError) as caught:
        GoflowClient(token, "acme")
    if token and token.strip():
        assert token.strip() not in str(caught.value)


# -- the token stays secret ------------------------------------------------------

SECRET = "gf-SECRET-7d1e0c55b2"


def test_token_absent_from_errors_repr_and_logs(sandbox_factory, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="urllib3")
    server = sandbox_factory(token=SECRET, page_size=5)
    client = GoflowClient(
        SECRET,
        base_url=server.url,
        beta_contact="books@example.com",
        max_retries=1,
        timeout=(1.0, 0.2),
        sleep=lambda _seconds: None,
    )
    errors = []

    def attempt(call):
        try:
            call()
        except GoflowError as error:
            errors.append(error)

    list(client.iter_records("/orders"))  # successes log too
    server.fail_next(2, status=503, message=f"token {SECRET} overloaded")
    attempt(client.test_connection)
    server.script_responses(
        [{"status": 400, "body": {"message": f"bad token {SECRET}"}}]
    )
    attempt(client.test_connection)
    server.script_responses([{"status": 200, "body": "<html>oops</html>"}] * 2)
    attempt(client.test_connection)
    server.script_responses([{"delay_ms": 600}, {"delay_ms": 600}])
    attempt(client.test_connection)
    server.reset_next(2)
    attempt(client.test_connection)
    wrong = GoflowClient(SECRET + "x", base_url=server.url, sleep=lambda _s: None)
    attempt(wrong.test_connection)
    client.close()
    wrong.close()

    assert len(errors) == 6, [type(e).__name__ for e in errors]
    for error in errors:
        text = "".join(traceback.format_exception(error))
        assert SECRET not in text, f"token in {type(error).__name__}: {error}"
    assert "***" in str(errors[0]) and "***" in str(errors[1]), (
        "a token echoed by the server must be masked"
    )
    assert SECRET not in repr(client)
    assert SECRET not in repr(client._auth)
    assert caplog.records, "the client and urllib3 should have logged something"
    for record in caplog.records:
        assert SECRET not in record.getMessage(), f"token in log of {record.name}"
    assert SECRET not in caplog.text
