"""Costing rules (what needs a cost, the pre-fill, syncs, money), without
the database.

Everything here works on :class:`decimal.Decimal`; Odoo floats are converted
through their shortest ``repr`` (:func:`to_decimal`), so ``0.1`` stays ``0.1``.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from . import settlement_const as const
from .vocabulary import (
    MANUAL_SOURCES,
    SOURCE_AVERAGE,
    SOURCE_ESTIMATE,
    SOURCE_MANUAL,
)

__all__ = [
    "BASIS_GOFLOW_AVERAGE",
    "BASIS_GOFLOW_DEFAULT",
    "BASIS_NONE",
    "BASIS_ODOO_AVERAGE",
    "CostNeed",
    "CostNeedCollector",
    "DepositCheck",
    "ResolveDecision",
    "SyncDecision",
    "cost_keys",
    "deposit_check",
    "line_total",
    "merge_sync",
    "prefill_cost",
    "prefill_costs",
    "resolve_decision",
    "resolve_refund_cost",
    "sum_totals",
    "to_decimal",
    "weighted_average",
]

# Pre-fill bases, first available wins (:func:`prefill_cost`).
BASIS_GOFLOW_AVERAGE = "goflow_average"
BASIS_ODOO_AVERAGE = "odoo_average"
BASIS_GOFLOW_DEFAULT = "goflow_default"
BASIS_NONE = "none"
ODOO_AVERAGE_DAYS = 90
# Unit costs are kept to 4 decimals (the add-on's "Goflow Unit Cost" precision).
UNIT_COST_DECIMALS = 4

# Where a refund's unit cost came from (:func:`resolve_refund_cost`).
REFUND_FROM_REFUND = "goflow_refund"
REFUND_FROM_ORDER = "goflow_order"
REFUND_MISSING = "none"


ACTION_KEEP = "keep"
ACTION_UPDATE = "update"
ACTION_MISSING = "missing"
ACTION_TRUEUP = "trueup"

# What saving a line of the resolve wizard does (:func:`resolve_decision`).
RESOLVE_SKIP = "skip"
RESOLVE_SET = "set"
RESOLVE_NEGATIVE = "negative"
RESOLVE_ZERO = "zero_unconfirmed"

_ZERO = Decimal(0)


def to_decimal(value):
    """Decimal from Decimal, int, str or float (via its shortest repr); None stays."""
    if value is None or isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


def _positive(value):
    """The value as a Decimal when it is a usable cost (> 0), else None."""
    value = to_decimal(value)
    if value is None or not value.is_finite() or value <= 0:
        return None
    return value


def _quantum(decimals):
    return Decimal(1).scaleb(-decimals)


# --- 1. What needs a cost ----------------------------------------------------


class CostNeed(NamedTuple):
    """One costed event: units of a SKU that left (or came back to) stock.

    ``quantity`` is a positive number of units; ``sign`` tells the direction:
    +1 goods out (orders, reimbursed lost/damaged stock: debit COGS), -1 goods
    back (refunds, reversed reimbursements: credit COGS). The COGS amount is
    ``sign * line_total(quantity, unit_cost)``. A named tuple: a large
    settlement makes a few hundred thousand of them.
    """

    kind: str
    order_id: str
    adjustment_id: str
    sku: str
    quantity: Decimal
    posted_date: date | None
    line_numbers: tuple
    sign: int = 1

    @property
    def key(self):
        """The unique key of the cost line (goflow.cost.line)."""
        return (self.kind, self.order_id, self.adjustment_id, self.sku)

    @property
    def signed_quantity(self):
        return self.quantity * self.sign


# Refund rows that give the buyer's money back for the goods themselves
# (the ItemPrice descriptions of Amazon V2 files); Goodwill is a credit.
# Walmart names the same amounts by their amount type (Product Price, ...).
GOODS_REFUND_DESCRIPTIONS = frozenset({"principal", "shipping", "giftwrap"})


def _is_goods_refund(row):
    amount_type = row.amount_type.lower()
    if amount_type == "itemprice":
        return row.amount_description.lower() in GOODS_REFUND_DESCRIPTIONS
    return amount_type in const.WALMART_GOODS_AMOUNT_TYPES


def cost_keys(rows):
    """What in a settlement needs a cost, aggregated per cost-line key.

    Rules, per ``(kind, order id, adjustment id, SKU)``:

    * **order** rows with a SKU: the units sold, i.e. the sum of the row
      quantities (the parser counts an item's quantity once per amount group:
      one order item can come in several groups, each with its own
      ``ItemPrice`` / ``Principal`` row and quantity, 1 + 2 = 3 units; it
      refuses an order item with a negative quantity or with none).
      Retrocharges (``Order_Retrocharge``) move no goods and are left out, and
      so is an order whose rows carry no quantity at all (only rows that did
      not come through the parser can).
    * **refund** rows with a SKU: the units refunded, as positive units with
      sign -1. Amazon writes the refunded quantity on refund rows, or 0 (also
      negative quantities are seen; Walmart writes its Ship Qty); when every
      row of the refund leaves it at 0, each distinct refunded item (order
      item code, else merchant adjustment item id, else the SKU itself)
      counts as one unit. The goods come back only with a refunded price
      (Amazon's ItemPrice Principal, Shipping, GiftWrap; Walmart's Product,
      Shipping, Gift wrap Price).
    * **adjustment** rows with a SKU and a non-zero quantity (FBA inventory
      reimbursements, liquidations): units gone when Amazon pays (amount >= 0),
      units back when it takes the money back (amount < 0, e.g.
      ``REVERSAL_REIMBURSEMENT``); the net decides the sign, a net of zero needs
      nothing.
    * fee, reserve and other rows need no cost.

    :param rows: iterable of ``SettlementRow`` (read once, may be a stream)
    :return: list of :class:`CostNeed` in order of first appearance

    :class:`CostNeedCollector` applies the same rules while a file streams
    through, handing out the needs it already knows.
    """
    collector = CostNeedCollector()
    collector.add(rows)
    return collector.needs()


class CostNeedCollector:
    """:func:`cost_keys` while the rows stream through.

    :meth:`add` takes rows (any number of calls); :meth:`settled` hands out,
    once each, the needs of items no row has touched for a while, so that
    they can be stored while the rest of the file is still read. A later row
    may still reopen such an item (the same SKU in a second shipment of an
    order): :meth:`corrections` says, at the end, which needs handed out have
    changed or vanished. :meth:`needs` is always the complete answer.
    """

    def __init__(self):
        # key -> [units, first posted date, line numbers, refunded items,
        #         last line number]
        self._groups = {}
        self._order = []  # keys not handed out yet, by first appearance
        # key -> (the CostNeed handed out or None, its last line then)
        self._handed = {}
        self._no_goods = {}  # transaction type as written -> moves no goods
        self.last_line = 0

    def add(self, rows):
        """Aggregate ``rows`` (``SettlementRow``, read once)."""
        groups = self._groups
        order = self._order
        no_goods = self._no_goods
        costed = (const.KIND_ORDER, const.KIND_REFUND, const.KIND_ADJUSTMENT)
        line_no = self.last_line
        # A million-row file passes here once: lookups are hoisted and cached.
        for row in rows:
            line_no = row.line_no
            kind = row.kind
            if kind not in costed:
                continue
            sku = row.sku
            if not sku:
                continue
            ttype = row.transaction_type
            skip = no_goods.get(ttype)
            if skip is None:
                skip = no_goods[ttype] = (
                    ttype.lower() in const.NO_GOODS_TRANSACTION_TYPES
                )
            if skip:
                continue
            key = (kind, row.order_id, row.adjustment_id, sku)
            group = groups.get(key)
            posted = row.posted_date
            if group is None:
                group = groups[key] = [0, posted, [], set(), line_no]
                order.append(key)
            else:
                if posted is not None and (group[1] is None or posted < group[1]):
                    group[1] = posted
                group[4] = line_no
            quantity = row.quantity
            if kind == const.KIND_ADJUSTMENT:
                quantity = abs(quantity) * (-1 if row.amount < 0 else 1)
            elif kind == const.KIND_REFUND:
                quantity = abs(quantity)
                # Goods come back only with a refunded item price; a goodwill
                # credit or a fee reversal alone leaves the goods with the
                # buyer.
                if _is_goods_refund(row):
                    group[3].add(
                        row.order_item_code or row.merchant_adjustment_item_id or sku
                    )
            if quantity:
                group[0] += quantity
            group[2].append(line_no)
        self.last_line = line_no

    def settled(self, idle_lines):
        """Needs of the items not touched in the last ``idle_lines`` lines
        read, each key handed out once (in order of first appearance).

        :return: list of :class:`CostNeed`
        """
        horizon = self.last_line - idle_lines
        groups = self._groups
        handed = self._handed
        waiting = []
        needs = []
        for key in self._order:
            group = groups[key]
            if group[4] > horizon:
                waiting.append(key)
                continue
            need = _need(key, group)
            handed[key] = (need, group[4])
            if need is not None:
                needs.append(need)
        self._order = waiting
        return needs

    def needs(self):
        """Every need of the rows added so far, in order of first appearance."""
        return [
            need
            for need in (_need(key, group) for key, group in self._groups.items())
            if need is not None
        ]

    def remaining(self):
        """Needs of the keys never handed out (in order of first appearance)."""
        groups = self._groups
        return [
            need
            for need in (_need(key, groups[key]) for key in self._order)
            if need is not None
        ]

    def corrections(self):
        """Keys handed out whose need is not what it became.

        :return: ``(changed, gone, late)``: the final needs of keys handed
            out with other figures; the keys handed out that need nothing in
            the end; the needs of keys handed out as needing nothing that need
            a cost in the end
        """
        changed, gone, late = [], [], []
        groups = self._groups
        for key, (handed, last_line) in self._handed.items():
            group = groups[key]
            if group[4] == last_line:
                continue  # no row since it was handed out
            need = _need(key, group)
            if need is None:
                if handed is not None:
                    gone.append(key)
            elif handed is None:
                late.append(need)
            elif _figures(need) != _figures(handed):
                changed.append(need)
        return changed, gone, late


def _figures(need):
    return (need.quantity, need.sign, need.posted_date)


def _need(key, group):
    """The :class:`CostNeed` of one aggregated key, None when it needs none."""
    kind = key[0]
    units, posted, lines, refunded_items = group[:4]
    if kind == const.KIND_REFUND:
        if not refunded_items:
            return None
        units = units or len(refunded_items)
        sign = -1
    elif kind == const.KIND_ADJUSTMENT:
        sign = -1 if units < 0 else 1
        units = abs(units)
    else:
        sign = 1
        units = abs(units)
    if not units:
        return None
    return CostNeed(*key, Decimal(units), posted, tuple(lines), sign)


# --- 3. Current average cost (the pre-fill) ----------------------------------


def weighted_average(costs: Iterable, decimals=None):
    """Quantity-weighted average unit cost of ``(quantity, unit_cost)`` pairs.

    Pairs without a usable cost (None, 0, negative) or with a quantity <= 0
    are left out.

    :param decimals: round the result (half up) to this many places
    :return: Decimal, or None when no quantity is left
    """
    total_quantity = _ZERO
    total_cost = _ZERO
    for quantity, unit_cost in costs:
        quantity = to_decimal(quantity)
        unit_cost = _positive(unit_cost)
        if unit_cost is None or quantity is None or quantity <= 0:
            continue
        total_quantity += quantity
        total_cost += quantity * unit_cost
    if not total_quantity:
        return None
    average = total_cost / total_quantity
    if decimals is not None:
        average = average.quantize(_quantum(decimals), rounding=ROUND_HALF_UP)
    return average


def prefill_cost(
    goflow_average,
    odoo_average,
    odoo_average_count,
    goflow_default,
    *,
    days=ODOO_AVERAGE_DAYS,
):
    """The unit cost proposed to the person resolving a missing cost.

    First available wins: Goflow's current average for the SKU;
    the average of costs already known in Odoo (``odoo_average`` over
    ``odoo_average_count`` costs of the last ``days`` days); Goflow's product
    default cost; else nothing. Zero or negative values are not available.

    :return: ``(unit_cost or None, basis_code, basis_text)``
    """
    value = _positive(goflow_average)
    if value is not None:
        return value, BASIS_GOFLOW_AVERAGE, "Goflow average cost"
    value = _positive(odoo_average)
    if value is not None and (odoo_average_count or 0) > 0:
        count = int(odoo_average_count)
        noun = "cost" if count == 1 else "costs"
        return value, BASIS_ODOO_AVERAGE, f"average of {count} {noun}, last {days} days"
    value = _positive(goflow_default)
    if value is not None:
        return value, BASIS_GOFLOW_DEFAULT, "Goflow default cost"
    return None, BASIS_NONE, "no cost known: enter it"


def prefill_costs(
    keys,
    goflow_costs,
    odoo_costs,
    *,
    days=ODOO_AVERAGE_DAYS,
    decimals=UNIT_COST_DECIMALS,
):
    """:func:`prefill_cost` for many SKUs at once, from aggregated rows.

    :param keys: the keys to pre-fill, e.g. ``(company, currency, sku)``
    :param goflow_costs: ``{key: (average_cost, default_cost)}`` as Goflow
        gives them (either may be None); keys Goflow does not know are absent
    :param odoo_costs: iterable of ``(key, quantity, unit_cost, count)``: the
        costs known in Odoo, one row per cost or already summed (per key, or
        per key and unit cost); ``count`` is the number of costs in the row
    :return: ``{key: (unit_cost or None, basis_code, basis_text, count)}``
        where ``count`` is the number of Odoo costs behind an Odoo average
    """
    pairs = {}
    counts = {}
    for key, quantity, unit_cost, count in odoo_costs:
        if _positive(unit_cost) is None or not quantity or to_decimal(quantity) <= 0:
            continue
        pairs.setdefault(key, []).append((quantity, unit_cost))
        counts[key] = counts.get(key, 0) + int(count or 0)
    result = {}
    for key in keys:
        average = default = None
        if key in goflow_costs:
            average, default = goflow_costs[key]
        odoo_average = weighted_average(pairs.get(key, ()), decimals)
        value, code, text = prefill_cost(
            average, odoo_average, counts.get(key, 0), default, days=days
        )
        if value is not None:
            value = value.quantize(_quantum(decimals), rounding=ROUND_HALF_UP)
        count = counts.get(key, 0) if code == BASIS_ODOO_AVERAGE else 0
        result[key] = (value, code, text, count)
    return result


# --- Resolving a missing cost by hand ----------------------------------------


@dataclass(frozen=True)
class ResolveDecision:
    """What saving one line of the resolve wizard does.

    ``action``: ``skip`` (blank: the line stays missing), ``set`` (write
    ``unit_cost`` with ``source``), ``negative`` or ``zero_unconfirmed``
    (refused: the caller names the line).
    """

    action: str
    unit_cost: Decimal | None = None
    source: str | None = None


def resolve_decision(entered, prefill, zero_confirmed, decimals=UNIT_COST_DECIMALS):
    """Decide what a typed (or accepted) unit cost does to a missing line.

    * blank (None) leaves the line missing;
    * a negative cost is refused;
    * zero is refused unless the person confirmed that zero is correct;
    * the pre-fill accepted as it is gives source ``average`` (the current
      average); any other value is ``manual``.

    Both values are compared at ``decimals`` places (the unit cost precision).

    :return: :class:`ResolveDecision`
    """
    entered = to_decimal(entered)
    if entered is None or not entered.is_finite():
        return ResolveDecision(RESOLVE_SKIP)
    quantum = _quantum(decimals)
    entered = entered.quantize(quantum, rounding=ROUND_HALF_UP)
    if entered < 0:
        return ResolveDecision(RESOLVE_NEGATIVE, entered)
    if entered == 0 and not zero_confirmed:
        return ResolveDecision(RESOLVE_ZERO, entered)
    prefill = to_decimal(prefill)
    accepted = (
        prefill is not None
        and entered > 0
        and prefill.quantize(quantum, rounding=ROUND_HALF_UP) == entered
    )
    source = SOURCE_AVERAGE if accepted else SOURCE_MANUAL
    return ResolveDecision(RESOLVE_SET, entered, source)


# --- Refunds -----------------------------------------------------------------


def resolve_refund_cost(refund_unit_cost, original_order_unit_cost):
    """Unit cost of goods coming back: Goflow's refund cost, else the order's.

    :return: ``(unit_cost or None, source)`` with source ``"goflow_refund"``,
        ``"goflow_order"`` or ``"none"``
    """
    value = _positive(refund_unit_cost)
    if value is not None:
        return value, REFUND_FROM_REFUND
    value = _positive(original_order_unit_cost)
    if value is not None:
        return value, REFUND_FROM_ORDER
    return None, REFUND_MISSING


# --- 2, 4, 5. Missing, manual wins, late costs -------------------------------


@dataclass(frozen=True)
class SyncDecision:
    """What a sync does to one cost line.

    ``action``: ``keep`` (leave the line as it is), ``update`` (write
    ``unit_cost``, source goflow, state costed), ``missing`` (state missing,
    no cost), ``trueup`` (the COGS is posted: record ``unit_cost`` as the
    pending true-up value, the entry for the difference comes later).
    """

    action: str
    unit_cost: Decimal | None
    reason: str = ""


def merge_sync(
    existing_state, existing_source, existing_unit_cost, new_goflow_cost, posted
):
    """Merge a cost from a Goflow sync into an existing cost line.

    * A cost set by a person (source ``manual`` or ``average``) is never
      replaced.
    * Goflow giving no cost, 0 or a negative value means *missing* (§4.2); a
      line that already has a cost keeps it.
    * A new cost on a line whose COGS is not posted updates it; on a posted
      line (including one posted with an ``estimate``) it becomes a true-up
      (§4.5). The same cost as today changes nothing.

    :param existing_state: ``"missing"``, ``"costed"`` or None (new line)
    :param existing_source: ``goflow``, ``manual``, ``average``, ``estimate``
        or None
    :param posted: whether the line's COGS entry is posted
    :return: :class:`SyncDecision`
    """
    current = _positive(existing_unit_cost)
    if existing_source in MANUAL_SOURCES:
        return SyncDecision(ACTION_KEEP, current, "set by a person")
    new = _positive(new_goflow_cost)
    if new is None:
        if current is not None and existing_state != "missing":
            return SyncDecision(ACTION_KEEP, current, "Goflow has no cost now")
        return SyncDecision(ACTION_MISSING, None, "Goflow has no cost")
    if (
        current is not None
        and new == current
        and existing_state != "missing"
        # an estimate confirmed by Goflow becomes Goflow's cost (no amount
        # changes, but the line is no longer an estimate)
        and existing_source != SOURCE_ESTIMATE
    ):
        return SyncDecision(ACTION_KEEP, current, "unchanged")
    if posted:
        return SyncDecision(ACTION_TRUEUP, new, "cost arrived after posting")
    return SyncDecision(ACTION_UPDATE, new, "cost from Goflow")


# --- 6. Money ----------------------------------------------------------------


def line_total(quantity, unit_cost, decimals=2):
    """``quantity * unit_cost`` rounded half up to the currency's decimals."""
    value = to_decimal(quantity) * to_decimal(unit_cost)
    return value.quantize(_quantum(decimals), rounding=ROUND_HALF_UP)


def sum_totals(totals, decimals=2):
    """Sum of already rounded line totals (an entry total equals its lines)."""
    result = sum((to_decimal(t) for t in totals), _ZERO)
    return result.quantize(_quantum(decimals), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class DepositCheck:
    """Σ amounts of the rows against the deposit the file reports."""

    balanced: bool
    rows_total: Decimal
    reported_total: Decimal
    difference: Decimal  # reported - rows, rounded to the currency

    def __bool__(self):
        return self.balanced


def deposit_check(rows_total, reported_total, decimals=2):
    """Do the rows add up to the reported total, to the currency's unit?

    :return: :class:`DepositCheck` (truthy when balanced)
    """
    rows_total = to_decimal(rows_total)
    reported_total = to_decimal(reported_total)
    quantum = _quantum(decimals)
    difference = (reported_total - rows_total).quantize(quantum, rounding=ROUND_HALF_UP)
    return DepositCheck(not difference, rows_total, reported_total, difference)
