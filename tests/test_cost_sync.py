"""Goflow's order lines aggregated per (kind, order, SKU) for a sync."""

from decimal import Decimal

from connectbooks_goflow.core.cost_sync import GoflowCost, aggregate_costs
from connectbooks_goflow.core.goflow_client import OrderCostLine


def line(goflow_id, number, sku, quantity, unit_cost, kind="order"):
    return OrderCostLine(
        goflow_order_id=goflow_id,
        order_number=number,
        store_id=None,
        order_date=None,
        kind=kind,
        sku=sku,
        quantity=Decimal(quantity),
        unit_cost=None if unit_cost is None else Decimal(unit_cost),
        currency="USD",
    )


def test_one_line_gives_its_cost_to_four_decimals():
    costs, found = aggregate_costs([line(7, "A", "S", "2", "3.123456")])
    assert costs == {("order", "A", "S"): GoflowCost(Decimal("3.1235"), (7,))}
    assert found == {"A"}


def test_lines_of_a_split_order_are_weighted_by_quantity():
    costs, _found = aggregate_costs(
        [line(9, "A", "S", "1", "1.00"), line(8, "A", "S", "3", "2.00")]
    )
    assert costs[("order", "A", "S")] == GoflowCost(Decimal("1.7500"), (8, 9))


def test_one_line_without_cost_leaves_the_key_without_cost():
    costs, _found = aggregate_costs(
        [line(1, "A", "S", "1", "1.00"), line(1, "A", "S", "1", None)]
    )
    assert costs[("order", "A", "S")] == GoflowCost(None, (1,))
    costs, _found = aggregate_costs([line(1, "B", "S", "1", None)])
    assert costs[("order", "B", "S")] == GoflowCost(None, (1,))


def test_kinds_stay_apart_and_lines_without_sku_only_mark_the_order_found():
    costs, found = aggregate_costs(
        [
            line(1, "A", "S", "1", "1.00"),
            line(1, "A", "S", "1", "4.00", kind="refund"),
            line(2, "C", None, "1", "1.00"),
        ]
    )
    assert costs == {
        ("order", "A", "S"): GoflowCost(Decimal("1.0000"), (1,)),
        ("refund", "A", "S"): GoflowCost(Decimal("4.0000"), (1,)),
    }
    assert found == {"A", "C"}


def test_lines_are_read_once_from_an_iterator():
    costs, _found = aggregate_costs(iter([line(1, "A", "S", "2", "5")]))
    assert costs[("order", "A", "S")].unit_cost == Decimal("5.0000")
