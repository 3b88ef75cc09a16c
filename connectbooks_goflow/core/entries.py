"""Journal entry lines of a settlement, as plain numbers.

See docs/architecture.md, "Journal entries".

The Odoo layer turns these into ``account.move.line`` values. Amounts are
Decimal; a positive ``balance`` is a debit.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from .costing import to_decimal

GOODS_OUT = 1  # sold or lost: debit COGS, credit inventory
GOODS_BACK = -1  # refunded or reversed: debit inventory, credit COGS


def _round(value, decimals):
    return to_decimal(value).quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP)


@dataclass(frozen=True)
class AmountLine:
    """One line of the settlement entry: a mapped combination, summed."""

    account_id: int
    label: str
    balance: Decimal


@dataclass(frozen=True)
class UnmappedAmount:
    transaction_type: str
    amount_type: str
    amount_description: str
    amount: Decimal


def settlement_lines(combinations, account_of, decimals=2):
    """Lines of the settlement entry, and the combinations no rule maps.

    Amazon's sign convention is the seller's: ``+`` is money to the seller,
    so each combination is booked with the opposite sign (a sale credits
    income) and the deposit, booked by the caller to the clearing account,
    is the sum of the amounts.

    :param combinations: iterable of ``(transaction type, amount type,
        description, summed amount)``
    :param account_of: callable ``(tt, at, desc) -> account id or None``
    :return: ``(lines, unmapped, deposit)``; ``deposit`` is the rounded sum
        of the rounded combination amounts (what the clearing account gets)
    """
    lines = []
    unmapped = []
    deposit = Decimal(0)
    for ttype, atype, desc, amount in combinations:
        amount = _round(amount, decimals)
        account_id = account_of(ttype, atype, desc)
        if account_id is None:
            unmapped.append(
                UnmappedAmount(ttype or "", atype or "", desc or "", amount)
            )
            continue
        deposit += amount
        if not amount:
            continue
        label = " / ".join(part for part in (ttype, atype, desc) if part)
        lines.append(AmountLine(account_id, label, -amount))
    return lines, unmapped, deposit


@dataclass
class CogsPair:
    """Goods of one SKU moving in one direction: a COGS line and an
    inventory line of opposite balances, and the cost lines they carry."""

    sku: str
    product_id: int | None
    direction: int
    quantity: Decimal = Decimal(0)
    amount: Decimal = Decimal(0)  # positive: the value of the goods moved
    cost_line_ids: list = field(default_factory=list)

    @property
    def cogs_balance(self):
        """Debit (positive) or credit of the COGS account."""
        return self.amount if self.direction == GOODS_OUT else -self.amount


def cogs_pairs(cost_lines):
    """Group cost lines per (SKU, direction) for the COGS entry.

    :param cost_lines: iterable of ``(id, sku, product id, sign, quantity,
        total cost)`` where ``total cost`` is already rounded and signed
        (negative for goods back)
    :return: list of :class:`CogsPair`, ordered by SKU then direction; pairs
        whose amount is zero still carry their cost lines (quantity moved at
        no cost) so every cost line is linked
    """
    pairs = {}
    for line_id, sku, product_id, sign, quantity, total in cost_lines:
        direction = GOODS_BACK if sign < 0 else GOODS_OUT
        key = (sku or "", direction)
        pair = pairs.get(key)
        if pair is None:
            pair = pairs[key] = CogsPair(sku or "", product_id, direction)
        pair.quantity += to_decimal(quantity)
        pair.amount += abs(to_decimal(total))
        pair.cost_line_ids.append(line_id)
    return [pairs[key] for key in sorted(pairs)]


def trueup_pairs(cost_lines):
    """Differences between what a cost line is now and what was booked.

    :param cost_lines: iterable of ``(id, sku, product id, sign, quantity,
        total cost, posted total)``, both totals signed and rounded
    :return: list of :class:`CogsPair` whose ``amount`` is the difference to
        book (direction GOODS_OUT: more COGS; GOODS_BACK: less COGS)
    """
    diffs = defaultdict(lambda: [Decimal(0), Decimal(0), None, []])
    for line_id, sku, product_id, _sign, quantity, total, posted in cost_lines:
        delta = to_decimal(total) - to_decimal(posted)
        if not delta:
            continue
        entry = diffs[sku or ""]
        entry[0] += delta
        entry[1] += to_decimal(quantity)
        entry[2] = entry[2] or product_id
        entry[3].append(line_id)
    pairs = []
    for sku in sorted(diffs):
        delta, quantity, product_id, ids = diffs[sku]
        if not delta:
            continue
        direction = GOODS_OUT if delta > 0 else GOODS_BACK
        pairs.append(CogsPair(sku, product_id, direction, quantity, abs(delta), ids))
    return pairs
