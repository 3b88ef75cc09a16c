"""Plan a Goflow cost sync: from Goflow's order lines to cost-line updates.

Pure: the Odoo layer reads the cost lines, asks the client, hands both here
and writes back what :func:`plan_sync` returns (docs/architecture.md, "The
Goflow sync").
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from .costing import (
    ACTION_KEEP,
    ACTION_MISSING,
    merge_sync,
    resolve_refund_cost,
)
from .vocabulary import (
    COST_REFUND,
    REASON_NO_COST,
    REASON_NOT_FOUND,
    STICKY_REASONS,
)

# Unit costs are kept to 4 decimals (the add-on's "Goflow Unit Cost" precision).
UNIT_COST_QUANTUM = Decimal("0.0001")


@dataclass(frozen=True, slots=True)
class GoflowCost:
    """Goflow's unit cost of one SKU on one order (or on its returns)."""

    unit_cost: Decimal | None
    goflow_ids: tuple


@dataclass(frozen=True, slots=True)
class LineState:
    """A cost line as the planner needs it."""

    line_id: int
    kind: str
    order_ref: str
    sku: str
    state: str
    source: str | None
    unit_cost: Decimal | None
    posted: bool
    missing_reason: str | None = None


@dataclass(frozen=True, slots=True)
class LineUpdate:
    """What to write on one cost line; ``action`` as in
    :class:`~.costing.SyncDecision` (``keep`` lines are not returned)."""

    line_id: int
    action: str
    unit_cost: Decimal | None
    missing_reason: str | None
    goflow_ref: str | None


def aggregate_costs(order_lines):
    """Goflow unit costs per ``(kind, order number, SKU)``.

    Split orders (one order number, several Goflow ids) are merged; a SKU on
    several lines gets the quantity-weighted average. If any of its lines
    has no cost, the SKU has none: a partial average would understate COGS.

    :param order_lines: iterable of ``OrderCostLine``
    :return: ({key: :class:`GoflowCost`}, set of order numbers Goflow knows)
    """
    entries = {}
    found = set()
    for line in order_lines:
        number = line.order_number
        found.add(number)
        if not line.sku:
            continue
        key = (line.kind, number, line.sku)
        entry = entries.get(key)
        if entry is None:
            # Most keys have one line: it is kept as it is, and sums are
            # made only for a second one (a 450,000-line sync made 450,000
            # sets and sums it did not need).
            entries[key] = line
            continue
        if not isinstance(entry, list):
            entry = entries[key] = _sums(entry)
        _add(entry, line)
    # Each entry is replaced where it is: no second dict of every key.
    for key, entry in entries.items():
        if not isinstance(entry, list):
            unit = entry.unit_cost
            if unit is not None and entry.quantity > 0:
                unit = unit.quantize(UNIT_COST_QUANTUM, ROUND_HALF_UP)
            else:
                unit = None
            entries[key] = GoflowCost(unit, (entry.goflow_order_id,))
            continue
        value, quantity, has_gap, ids = entry
        unit = None
        if not has_gap and quantity > 0:
            unit = (value / quantity).quantize(UNIT_COST_QUANTUM, ROUND_HALF_UP)
        entries[key] = GoflowCost(unit, tuple(sorted(ids)))
    return entries, found


def _sums(line):
    """``[value, quantity, has a line without cost, Goflow ids]`` of one
    line, to add others to."""
    entry = [Decimal(0), Decimal(0), False, set()]
    _add(entry, line)
    return entry


def _add(entry, line):
    entry[3].add(line.goflow_order_id)
    if line.unit_cost is None:
        entry[2] = True
        return
    entry[0] += line.quantity * line.unit_cost
    entry[1] += line.quantity


def order_numbers_to_ask(lines):
    """Distinct order numbers of the lines a sync must ask Goflow about."""
    numbers = []
    seen = set()
    for line in lines:
        if line.missing_reason in STICKY_REASONS or not line.order_ref:
            continue
        if line.order_ref not in seen:
            seen.add(line.order_ref)
            numbers.append(line.order_ref)
    return numbers


def plan_sync(lines, costs, found):
    """Decide, per cost line, what a sync changes.

    * orders take Goflow's cost of the SKU on that order;
    * refunds take Goflow's refund cost, else the original order's cost;
    * adjustments that name an order take that order's cost;
    * lines before the sync start date or without an order id are left as
      they are (the bookkeeper resolves them);
    * the rest follows :func:`~.costing.merge_sync` (manual wins, 0 or no
      cost is missing, late costs update or become true-ups).

    :param lines: iterable of :class:`LineState`
    :param costs: from :func:`aggregate_costs`
    :param found: order numbers Goflow returned
    :return: list of :class:`LineUpdate` for the lines that change
    """
    updates = []
    for line in lines:
        if line.missing_reason in STICKY_REASONS or not line.order_ref:
            continue
        order = costs.get(("order", line.order_ref, line.sku))
        if line.kind == COST_REFUND:
            refund = costs.get((COST_REFUND, line.order_ref, line.sku))
            new_cost, _basis = resolve_refund_cost(
                refund and refund.unit_cost, order and order.unit_cost
            )
            ids = (refund and refund.goflow_ids) or (order and order.goflow_ids)
        else:
            new_cost = order and order.unit_cost
            ids = order and order.goflow_ids
        decision = merge_sync(
            line.state, line.source, line.unit_cost, new_cost, line.posted
        )
        goflow_ref = ",".join(str(i) for i in ids) if ids else None
        if decision.action == ACTION_KEEP:
            continue
        reason = None
        if decision.action == ACTION_MISSING:
            if line.order_ref not in found or (order is None and not ids):
                reason = REASON_NOT_FOUND
            else:
                reason = REASON_NO_COST
            if line.state == "missing" and line.missing_reason == reason:
                continue
        updates.append(
            LineUpdate(
                line_id=line.line_id,
                action=decision.action,
                unit_cost=decision.unit_cost,
                missing_reason=reason,
                goflow_ref=goflow_ref,
            )
        )
    return updates
