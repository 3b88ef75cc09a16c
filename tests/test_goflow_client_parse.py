"""The cost-field assumption and the query helpers of the Goflow client, as pure
functions over payload dicts (the same shapes the sandbox serves)."""

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from connectbooks_goflow.core.goflow_client import (
    GoflowConfigError,
    GoflowMalformedResponse,
    build_filters,
    order_cost_lines,
    parse_goflow_datetime,
    product_cost,
    sort_params,
)

UTC = timezone.utc


def line(sku="SKU-1", quantity=1, cost=3.5, price=10.0):
    result = {
        "id": 1,
        "product": None if sku is None else {"id": 9, "item_number": sku, "name": "x"},
        "quantity": {"amount": quantity},
        "charges": [
            {"type": "price", "amount": price, "currency": {"code": "usd"}},
        ],
    }
    if cost != "absent":
        result["cost"] = (
            None if cost is None else {"amount": cost, "currency": {"code": "usd"}}
        )
    return result


def order(*lines, **fields):
    result = {
        "id": 42,
        "order_number": "114-1111111-2222222",
        "date": "2025-01-31T18:30:20Z",
        "store": {"id": 7, "name": "Amazon", "channel": "amazon_marketplace_usa"},
        "lines": list(lines),
    }
    result.update(fields)
    return result


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-01-31T18:30:20Z", datetime(2025, 1, 31, 18, 30, 20, tzinfo=UTC)),
        (
            "2023-02-14T15:19:15.887Z",
            datetime(2023, 2, 14, 15, 19, 15, 887000, tzinfo=UTC),
        ),
        (
            "2023-02-14T15:19:15.1234567Z",
            datetime(2023, 2, 14, 15, 19, 15, 123456, tzinfo=UTC),
        ),
        ("2025-01-31T18:30:20", datetime(2025, 1, 31, 18, 30, 20, tzinfo=UTC)),
        ("2025-01-31T20:30:20+02:00", datetime(2025, 1, 31, 18, 30, 20, tzinfo=UTC)),
        ("0001-01-01T00:00:00Z", None),
        ("", None),
        (None, None),
    ],
)
def test_goflow_dates(text, expected):
    assert parse_goflow_datetime(text) == expected


def test_order_lines_with_costs_missing_costs_and_null_products():
    payload = order(
        line("SKU-1", 2, 3.5),
        line("SKU-2", 1, None),
        line("SKU-3", 1, 0),
        line("SKU-4", 1, "absent"),
        line(None, 1, None),
        extra_field={"ignored": True},
    )

    lines = order_cost_lines(payload)

    assert [(x.sku, x.quantity, x.unit_cost) for x in lines] == [
        ("SKU-1", Decimal(2), Decimal("3.5")),
        ("SKU-2", Decimal(1), None),
        ("SKU-3", Decimal(1), None),
        ("SKU-4", Decimal(1), None),
        (None, Decimal(1), None),
    ]
    first = lines[0]
    assert (first.goflow_order_id, first.order_number, first.store_id) == (
        42,
        "114-1111111-2222222",
        7,
    )
    assert first.order_date == datetime(2025, 1, 31, 18, 30, 20, tzinfo=UTC)
    assert {x.kind for x in lines} == {"order"}
    assert {x.currency for x in lines} == {"USD"}, "cost currency, else price's"


def test_decimal_amounts_are_kept_exact():
    lines = order_cost_lines(order(line(cost=Decimal("12.3456"), quantity=Decimal(3))))
    assert lines[0].unit_cost == Decimal("12.3456")
    assert order_cost_lines(order(line(cost=0.1)))[0].unit_cost == Decimal("0.1")


def test_refund_lines_come_from_returns():
    refund = {
        "id": 9001,
        "date": "2025-02-05T00:00:00.5Z",
        "lines": [line("SKU-1", 1, 3.25), line("SKU-2", 1, None)],
    }
    lines = order_cost_lines(order(line("SKU-1", 2, 3.5), returns=[refund]))
    assert [(x.kind, x.sku, x.unit_cost, x.refund_id) for x in lines] == [
        ("order", "SKU-1", Decimal("3.5"), None),
        ("refund", "SKU-1", Decimal("3.25"), "9001"),
        ("refund", "SKU-2", None, "9001"),
    ]


def test_optional_order_fields_may_be_null():
    lines = order_cost_lines(order(line(), store=None, date=None))
    assert (lines[0].store_id, lines[0].order_date) == (None, None)
    assert order_cost_lines(order()) == [], "an order without lines has no cost"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (order(line(), id="42"), "id"),
        (order(line(), id=True), "id"),
        (order(line(), order_number=""), "order_number"),
        (order(line(), order_number=None), "order_number"),
        (order(line(), lines=None), "lines"),
        (order(line(quantity="1")), "lines[0].quantity.amount"),
        (order(line(quantity=float("nan"))), "lines[0].quantity.amount"),
        (order(line(), line(cost="3.50")), "lines[1].cost.amount"),
        (order(line(), returns={}), "returns"),
        (order(line(), returns=[{"id": "R", "lines": [None]}]), "returns[0].lines[0]"),
        (order(line(), date=20250131), "date"),
        (order(line(), date="31/01/2025"), "date"),
    ],
)
def test_wrong_shapes_name_the_field_and_the_order(payload, field):
    with pytest.raises(GoflowMalformedResponse) as caught:
        order_cost_lines(payload)
    assert caught.value.field == field
    assert f"'{field}'" in str(caught.value)
    if isinstance(payload.get("order_number"), str) and payload["order_number"]:
        assert caught.value.order_number == "114-1111111-2222222"
        assert "114-1111111-2222222" in str(caught.value)


def test_an_order_that_is_not_an_object():
    with pytest.raises(GoflowMalformedResponse, match="instead of an object"):
        order_cost_lines(["not", "an", "order"])


def test_product_costs():
    cost = product_cost(
        {
            "id": 5,
            "item_number": " SKU-9 ",
            "pricing": {"default_cost": 4, "average_cost": 3.75},
        }
    )
    assert (cost.sku, cost.average_cost, cost.default_cost) == (
        "SKU-9",
        Decimal("3.75"),
        Decimal(4),
    )
    bare = product_cost({"id": 6, "item_number": "SKU-0", "pricing": None})
    assert (bare.average_cost, bare.default_cost) == (None, None)
    zero = product_cost({"item_number": "SKU-0", "pricing": {"default_cost": 0}})
    assert zero.default_cost is None, "0 means Goflow has no cost"
    with pytest.raises(GoflowMalformedResponse, match=r"product SKU-1 \(Goflow id 5\)"):
        product_cost(
            {"id": 5, "item_number": "SKU-1", "pricing": {"default_cost": "4"}}
        )


def test_build_filters_repeats_keys_for_or():
    assert build_filters(
        {
            "order_number": ["A", "B"],
            "store.id": 7,
            "date:gte": datetime(2025, 1, 1, 1, 0, tzinfo=timezone.utc),
            "status:not": ("canceled", "on_hold"),
            "settings.is_sellable": True,
        }
    ) == [
        ("filters[order_number]", "A"),
        ("filters[order_number]", "B"),
        ("filters[store.id]", "7"),
        ("filters[date:gte]", "2025-01-01T01:00:00Z"),
        ("filters[status:not]", "canceled"),
        ("filters[status:not]", "on_hold"),
        ("filters[settings.is_sellable]", "true"),
    ]
    assert build_filters([("id", 1), ("id", 2)]) == [
        ("filters[id]", "1"),
        ("filters[id]", "2"),
    ]
    assert sort_params("date", "desc") == [("sort", "date"), ("sort_direction", "desc")]
    with pytest.raises(GoflowConfigError):
        sort_params("date", "down")
    with pytest.raises(GoflowConfigError):
        build_filters({"bad]field": 1})
