"""Pre-fill of the resolve wizard and what saving a typed cost does.

The rule is docs/architecture.md, "Costing rules" 3.
"""

from decimal import Decimal

import pytest

from connectbooks_goflow.core.costing import (
    BASIS_GOFLOW_AVERAGE,
    BASIS_GOFLOW_DEFAULT,
    BASIS_NONE,
    BASIS_ODOO_AVERAGE,
    RESOLVE_NEGATIVE,
    RESOLVE_SET,
    RESOLVE_SKIP,
    RESOLVE_ZERO,
    prefill_costs,
    resolve_decision,
)

A = (1, 1, "SKU-A")
B = (1, 1, "SKU-B")
C = (1, 1, "SKU-C")
D = (1, 1, "SKU-D")
A_OTHER_COMPANY = (2, 1, "SKU-A")


def test_prefill_costs_each_basis():
    goflow = {
        A: (Decimal("4.10"), Decimal("4.00")),
        C: (None, Decimal("2.50")),
        D: (None, None),
    }
    odoo = [
        (A, Decimal(3), Decimal("9.99"), 3),  # Goflow's average wins
        (B, Decimal(2), Decimal("3.00"), 1),
        (B, Decimal(1), Decimal("6.00"), 2),
    ]
    result = prefill_costs([A, B, C, D], goflow, odoo)
    assert result[A] == (
        Decimal("4.1000"),
        BASIS_GOFLOW_AVERAGE,
        "Goflow average cost",
        0,
    )
    assert result[B] == (
        Decimal("4.0000"),
        BASIS_ODOO_AVERAGE,
        "average of 3 costs, last 90 days",
        3,
    ), "quantity-weighted: (2 x 3 + 1 x 6) / 3; count = Odoo costs behind it"
    assert result[C] == (
        Decimal("2.5000"),
        BASIS_GOFLOW_DEFAULT,
        "Goflow default cost",
        0,
    )
    assert result[D] == (None, BASIS_NONE, "no cost known: enter it", 0)


def test_prefill_costs_keys_never_mix():
    odoo = [(A_OTHER_COMPANY, Decimal(5), Decimal("7.00"), 5)]
    result = prefill_costs([A, A_OTHER_COMPANY], {}, odoo, days=30)
    assert result[A][1] == BASIS_NONE, "another company's costs do not count"
    assert result[A_OTHER_COMPANY][:3] == (
        Decimal("7.0000"),
        BASIS_ODOO_AVERAGE,
        "average of 5 costs, last 30 days",
    )


def test_prefill_costs_ignores_unusable_rows():
    odoo = [
        (A, Decimal(2), Decimal(0), 4),
        (A, Decimal(0), Decimal("3.00"), 1),
        (A, Decimal(1), None, 1),
        (A, Decimal(1), Decimal("1.33335"), 1),
    ]
    value, basis, _text, count = prefill_costs([A], {}, odoo)[A]
    assert (value, basis, count) == (Decimal("1.3334"), BASIS_ODOO_AVERAGE, 1)


def test_prefill_costs_float_rows():
    """Odoo hands floats to the rule: no binary drift in the average."""
    odoo = [(A, 1.0, 0.1, 1), (A, 2.0, 0.2, 1)]
    assert prefill_costs([A], {}, odoo)[A][0] == Decimal("0.1667")


@pytest.mark.parametrize(
    ("entered", "prefill", "zero_ok", "expected"),
    [
        (None, Decimal("4.10"), False, (RESOLVE_SKIP, None, None)),
        (4.1, Decimal("4.10"), False, (RESOLVE_SET, Decimal("4.1000"), "average")),
        (4.10004, "4.1", False, (RESOLVE_SET, Decimal("4.1000"), "average")),
        (4.2, Decimal("4.10"), False, (RESOLVE_SET, Decimal("4.2000"), "manual")),
        (4.2, None, False, (RESOLVE_SET, Decimal("4.2000"), "manual")),
        (-1, Decimal("4.10"), True, (RESOLVE_NEGATIVE, Decimal("-1.0000"), None)),
        (0, None, False, (RESOLVE_ZERO, Decimal("0.0000"), None)),
        (0.0, None, True, (RESOLVE_SET, Decimal("0.0000"), "manual")),
        (-0.00001, None, False, (RESOLVE_ZERO, Decimal("-0.0000"), None)),
    ],
)
def test_resolve_decision(entered, prefill, zero_ok, expected):
    decision = resolve_decision(entered, prefill, zero_ok)
    assert (decision.action, decision.unit_cost, decision.source) == expected
