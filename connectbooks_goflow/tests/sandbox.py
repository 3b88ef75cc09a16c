"""Start the repository's sandboxes (tools/goflow_sandbox and
tools/marketplace_sandbox) for Odoo tests.

The sandboxes live beside the add-on in the repository, not inside it; tests
that need them are skipped when the add-on is deployed without the repository.
"""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def sandbox_module():
    """Return ``(SandboxServer, Dataset)`` or ``None`` when not available."""
    if not (REPO / "tools" / "goflow_sandbox" / "server.py").exists():
        return None
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from tools.goflow_sandbox.dataset import Dataset  # noqa: PLC0415
    from tools.goflow_sandbox.server import SandboxServer  # noqa: PLC0415

    return SandboxServer, Dataset


def marketplace_sandbox_module():
    """Return ``(MarketplaceSandbox, AmazonApi)`` or ``None`` when not
    available."""
    if not (REPO / "tools" / "marketplace_sandbox" / "amazon.py").exists():
        return None
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from tools.marketplace_sandbox.amazon import AmazonApi  # noqa: PLC0415
    from tools.marketplace_sandbox.server import MarketplaceSandbox  # noqa: PLC0415

    return MarketplaceSandbox, AmazonApi


def money(amount):
    return None if amount is None else {"amount": amount, "currency": {"code": "usd"}}


def order(goflow_id, number, lines, returns=(), store_id=7):
    """A Goflow order dict with ``lines`` = [(sku, quantity, unit cost or None)]."""
    return {
        "id": goflow_id,
        "order_number": number,
        "date": "2024-03-02T14:22:31Z",
        "status": "shipped",
        "store": {
            "id": store_id,
            "name": "Amazon US",
            "channel": "amazon_marketplace_usa",
        },
        "lines": [
            {
                "id": f"{goflow_id}-{index}",
                "product": {"id": index, "item_number": sku, "name": sku},
                "quantity": {"amount": quantity},
                "charges": [
                    {"type": "price", "amount": 10, "currency": {"code": "usd"}}
                ],
                "cost": money(cost),
            }
            for index, (sku, quantity, cost) in enumerate(lines)
        ],
        "returns": [
            {
                "id": f"R{goflow_id}-{index}",
                "date": "2024-03-09T11:17:45.120Z",
                "lines": [
                    {
                        "product": {"id": 1, "item_number": sku, "name": sku},
                        "quantity": {"amount": quantity},
                        "cost": money(cost),
                    }
                ],
            }
            for index, (sku, quantity, cost) in enumerate(returns)
        ],
    }


def walmart_sandbox_module():
    """Return ``(MarketplaceSandbox, WalmartApi)`` or ``None`` when not
    available."""
    if not (REPO / "tools" / "marketplace_sandbox" / "walmart.py").exists():
        return None
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from tools.marketplace_sandbox.server import MarketplaceSandbox  # noqa: PLC0415
    from tools.marketplace_sandbox.walmart import WalmartApi  # noqa: PLC0415

    return MarketplaceSandbox, WalmartApi
