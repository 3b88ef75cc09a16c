"""Amount mapping: which account role a settlement amount is booked to.

A settlement row is identified for posting by its (transaction type, amount
type, amount description). Mapping rules may leave the transaction type or
the description blank to match any value; the most specific rule wins, and a
rule bound to one store wins over the marketplace-wide defaults. Values are
compared case-insensitively because Amazon's casing varies between reports
(``other-transaction`` vs ``Other-Transaction``, as seen in genuine settlement files).
"""

from dataclasses import dataclass

# Account roles a store configures one account for (docs/architecture.md,
# "Data model"). The order is the order of the store form's "Accounts" page.
ACCOUNT_ROLES = (
    ("sales", "Product sales"),
    ("shipping", "Shipping income"),
    ("refund", "Refunds"),
    ("promotion", "Promotions"),
    ("tax", "Sales tax"),
    ("selling_fee", "Selling fees"),
    ("fulfillment_fee", "Fulfillment fees"),
    ("advertising", "Advertising"),
    ("storage_fee", "Storage fees"),
    ("subscription", "Subscription fees"),
    ("reimbursement", "Reimbursements"),
    ("reserve", "Reserve"),
    ("other", "Other"),
)
ROLE_CODES = tuple(code for code, _label in ACCOUNT_ROLES)


def normalize(value):
    """Key form of a vocabulary value: stripped and case-folded; blank is ``""``."""
    return (value or "").strip().casefold()


@dataclass(frozen=True, slots=True)
class MappingRule:
    """One mapping rule, as the matcher sees it.

    ``store_id`` is ``None`` for a marketplace-wide rule; ``transaction_type``
    and ``amount_description`` are ``""`` for "any".
    """

    rule_id: int
    store_id: int | None
    transaction_type: str
    amount_type: str
    amount_description: str


class MappingIndex:
    """Resolve (transaction type, amount type, description) to a rule id.

    Built once per settlement from all candidate rules; each lookup is a few
    dictionary probes, so it can run over a million rows. The store's own
    rules are tried first, then the marketplace-wide ones. Within each, an
    exact description is the stronger evidence (``Tax`` is tax whether the row
    is an order or a refund), then an exact transaction type.
    """

    def __init__(self, rules, store_id=None):
        self._store = {}
        self._default = {}
        for rule in rules:
            if rule.store_id is None:
                table = self._default
            elif rule.store_id == store_id:
                table = self._store
            else:
                continue
            key = (
                normalize(rule.transaction_type),
                normalize(rule.amount_type),
                normalize(rule.amount_description),
            )
            table.setdefault(key, rule.rule_id)

    def match(self, transaction_type, amount_type, amount_description):
        """Return the id of the most specific matching rule, or ``None``."""
        tt = normalize(transaction_type)
        at = normalize(amount_type)
        desc = normalize(amount_description)
        keys = ((tt, at, desc), ("", at, desc), (tt, at, ""), ("", at, ""))
        for table in (self._store, self._default):
            for key in keys:
                rule_id = table.get(key)
                if rule_id is not None:
                    return rule_id
        return None


# The Profit & Loss column each account role's amounts are shown in: the P&L
# classifies an amount by the same mapping rule as the settlement entry, so
# the two never disagree. Reserve amounts are balance sheet, not profit.
PNL_SALES = "sales"
PNL_PROMOTIONS = "promotions"
PNL_FEES = "fees"
PNL_REFUNDS = "refunds"
PNL_OTHER = "other"
PNL_TAX = "tax"
PNL_COLUMN_OF_ROLE = {
    "sales": PNL_SALES,
    "shipping": PNL_SALES,
    "refund": PNL_REFUNDS,
    "promotion": PNL_PROMOTIONS,
    "tax": PNL_TAX,
    "selling_fee": PNL_FEES,
    "fulfillment_fee": PNL_FEES,
    "advertising": PNL_FEES,
    "storage_fee": PNL_FEES,
    "subscription": PNL_FEES,
    "reimbursement": PNL_OTHER,
    "reserve": None,
    "other": PNL_OTHER,
}
# An amount no rule maps (posting refuses it until it is mapped).
PNL_UNMAPPED = PNL_OTHER
