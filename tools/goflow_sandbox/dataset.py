"""Deterministic, Goflow-shaped data for the sandbox, the tests and the benchmarks.

Shapes follow Goflow's public API documentation (orders, products, stores);
the per-line ``cost`` and the order-level ``returns`` are the connector's
unconfirmed cost assumption (docs/architecture.md, "What is assumed about
Goflow"), kept here in :func:`_line_cost` and :func:`_returns` only.

The settlement-file generator reads, per order: ``order_number``, ``date``,
``store``; per line: ``product.item_number``, ``quantity.amount`` and the
``charges`` entry of type ``price`` (unit price). Keep those stable.
"""

from __future__ import annotations

import gc
import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

DEFAULT_START = datetime(2025, 1, 1, tzinfo=timezone.utc)
# Orders are spread over four weeks (two Amazon settlement periods).
SPAN = timedelta(days=28)

SPLIT_SHARE = 0.03  # orders that are the split sibling of the previous order
RETURN_SHARE = 0.05  # orders with a return carrying refund costs
NULL_PRODUCT_SHARE = 0.01  # lines whose product is null
MILLIS_SHARE = 0.3  # dates written with milliseconds
DISCOUNT_SHARE = 0.1  # lines with a (negative) discount charge

AMAZON_STORE = {
    "id": 1001,
    "name": "Amazon US",
    "channel": "amazon_marketplace_usa",
    "status": "active",
}
# A second store without orders: store filters have something to exclude.
WALMART_STORE = {
    "id": 1002,
    "name": "Walmart US",
    "channel": "walmart_marketplace_usa",
    "status": "active",
}

FIRST_ORDER_ID = 40_000_001
FIRST_LINE_ID = 90_000_001
FIRST_PRODUCT_ID = 70_001
# Multiplier coprime with 10**7: index -> middle block of the order number is a
# bijection, so order numbers are unique without bookkeeping.
_NUMBER_STEP = 7_654_321


def format_date(moment, millis=None):
    """Goflow's UTC form: ``2025-01-31T18:30:20Z`` or ``...20.887Z``."""
    text = moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    if millis is None:
        return text + "Z"
    return f"{text}.{millis:03d}Z"


def order_number(seed, index, rng):
    """Amazon-style ``NNN-NNNNNNN-NNNNNNN``, unique per (seed, index)."""
    middle = (index * _NUMBER_STEP + seed * 1_000_003) % 10_000_000
    return f"{111 + seed % 4:03d}-{middle:07d}-{rng.randrange(10_000_000):07d}"


@dataclass
class Dataset:
    """Orders, products and stores, as Goflow's list endpoints return them."""

    orders: list[dict] = field(default_factory=list)
    products: list[dict] = field(default_factory=list)
    stores: list[dict] = field(default_factory=list)

    def to_dict(self):
        return {"orders": self.orders, "products": self.products, "stores": self.stores}

    def to_json(self, path=None):
        """The dataset as JSON text; also written to ``path`` when given."""
        text = json.dumps(self.to_dict(), separators=(",", ":"))
        if path is not None:
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(text)
        return text

    @classmethod
    def from_dict(cls, data):
        return cls(
            orders=list(data.get("orders") or []),
            products=list(data.get("products") or []),
            stores=list(data.get("stores") or []),
        )

    @classmethod
    def from_json(cls, path):
        """Load a dataset written by :meth:`to_json` (or by hand)."""
        with open(path, encoding="utf-8") as handle:
            return cls.from_dict(json.load(handle))

    def order_numbers(self):
        """Distinct order numbers, in order of first appearance."""
        return list(dict.fromkeys(order["order_number"] for order in self.orders))


def _money(amount, currency):
    return {"amount": amount, "currency": currency}


def _line_cost(rng, product, missing_share, cost_currency):
    """The assumed ``cost`` of a line: unit average cost, or null / 0 / absent."""
    if product is None:
        return None
    if rng.random() < missing_share:
        return rng.choice((None, _money(0, cost_currency), "absent"))
    average = product["_average"]
    return _money(round(average * rng.uniform(0.95, 1.05), 2), cost_currency)


def _returns(rng, order_id, moment, lines, missing_share, cost_currency):
    """A return of some goods of the order, each with its refund cost."""
    returned = []
    for line in lines:
        if line["product"] is None or rng.random() < 0.5:
            continue
        cost = line.get("cost")
        if rng.random() < missing_share:
            cost = None
        returned.append(
            {
                "order_line_id": line["id"],
                "product": line["product"],
                "quantity": {"amount": rng.randint(1, line["quantity"]["amount"])},
                "cost": cost,
            }
        )
    if not returned:
        return None
    date = moment + timedelta(days=rng.randint(2, 20), seconds=rng.randrange(86_400))
    return [
        {
            "id": f"RMA-{order_id}",
            "type": "refund",
            "date": format_date(date),
            "lines": returned,
        }
    ]


def _products(rng, count, missing_share):
    products = []
    for index in range(count):
        price = round(rng.uniform(6.0, 90.0), 2)
        average = round(price * rng.uniform(0.25, 0.55), 2)
        default_cost = round(average * rng.uniform(0.9, 1.1), 2)
        if rng.random() < missing_share / 2:
            default_cost = 0
        products.append(
            {
                "id": FIRST_PRODUCT_ID + index,
                "item_number": f"SKU-{index:05d}",
                "type": "standard",
                "status": "active",
                "details": {"name": f"Sandbox product {index:05d}"},
                "pricing": {
                    "default_price": price,
                    "default_cost": default_cost,
                    "average_cost": None if rng.random() < missing_share else average,
                },
                "_average": average,
            }
        )
    return products


def build_dataset(
    orders,
    skus,
    seed,
    missing_share=0.1,
    start=DEFAULT_START,
):
    """Build ``orders`` Goflow orders over ``skus`` products, from ``seed``.

    Same arguments, same data. About 3% of the orders are split siblings (same
    ``order_number`` as the order before, another ``id``), about 5% carry a
    return with refund costs, about 1% of the lines have ``product: null``,
    and ``missing_share`` of the lines have a cost that is null, 0 or absent.

    :return: a :class:`Dataset`
    """
    if orders < 0 or skus < 1:
        raise ValueError("build_dataset needs orders >= 0 and skus >= 1")
    # Millions of small dicts and no cycles: the cyclic GC would only slow
    # the build down (by 3x at 150,000 orders).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _build(orders, skus, seed, missing_share, start)
    finally:
        if gc_was_enabled:
            gc.enable()


def _build(orders, skus, seed, missing_share, start):
    rng = random.Random(f"goflow-sandbox:{seed}")
    amazon, walmart = dict(AMAZON_STORE), dict(WALMART_STORE)
    usd = {"code": "usd", "exchange_rate": None}
    cost_usd = {"code": "usd"}
    products = _products(rng, skus, missing_share)
    refs = [
        {"id": p["id"], "item_number": p["item_number"], "name": p["details"]["name"]}
        for p in products
    ]
    warehouse = {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "name": "Main warehouse",
    }
    step = SPAN / max(orders, 1)
    result = []
    line_id = FIRST_LINE_ID
    number = None
    numbers_made = 0
    previous_split = True
    for index in range(orders):
        order_id = FIRST_ORDER_ID + index
        is_split = not previous_split and rng.random() < SPLIT_SHARE
        previous_split = is_split
        if not is_split:
            number = order_number(seed, numbers_made, rng)
            numbers_made += 1
            moment = start + step * index + timedelta(seconds=rng.randrange(60))
            millis = rng.randrange(1000) if rng.random() < MILLIS_SHARE else None
        lines = []
        total = 0.0
        for _line in range(rng.randint(1, 5)):
            if rng.random() < NULL_PRODUCT_SHARE:
                ref, price = None, round(rng.uniform(5.0, 50.0), 2)
            else:
                k = rng.randrange(skus)
                ref, price = refs[k], products[k]["pricing"]["default_price"]
            draw = rng.random()
            quantity = 1 if draw < 0.8 else 2 if draw < 0.95 else 3
            charges = [{"type": "price", "amount": price, "currency": usd}]
            total += price * quantity
            if rng.random() < DISCOUNT_SHARE:
                discount = -round(price * quantity * 0.1, 2)
                charges.append(
                    {"type": "discount", "amount": discount, "currency": usd}
                )
                total += discount
            line = {
                "id": line_id,
                "product": ref,
                "quantity": {"amount": quantity},
                "charges": charges,
            }
            cost = _line_cost(rng, ref and products[k], missing_share, cost_usd)
            if cost != "absent":
                line["cost"] = cost
            lines.append(line)
            line_id += 1
        order = {
            "id": order_id,
            "order_number": number,
            "date": format_date(moment, millis),
            "status": "shipped",
            "status_updated_at": format_date(moment + timedelta(hours=20)),
            "store": amazon,
            "warehouse": warehouse,
            "lines": lines,
            "summary": {"total": _money(round(total, 2), usd)},
        }
        if rng.random() < RETURN_SHARE:
            returns = _returns(rng, order_id, moment, lines, missing_share, cost_usd)
            if returns:
                order["returns"] = returns
        result.append(order)
    for product in products:
        del product["_average"]
    return Dataset(orders=result, products=products, stores=[amazon, walmart])
