import base64
import unittest
from unittest.mock import patch

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged
from odoo.tools import mute_logger
from odoo.tools.misc import file_open

from ..models import connectbooks_settlement_sync as sync_module
from ..models.connectbooks_settlement_sync import SYNC_LOCK_KEY
from .common import ConnectbooksCase
from .sandbox import order, sandbox_module

SMALL = "connectbooks_goflow/tests/data/amazon_v2_small.txt"
TOKEN = "sandbox-secret-token-1234"


def small_dataset():
    return {
        "orders": [
            order(
                9001,
                "112-4455667-1234567",
                [("BLU-MUG-12OZ", 2, 6.25), ("RED-MUG-12OZ", 1, 5.3333)],
            ),
            order(
                9002,
                "113-9988776-7654321",
                [("TEA-TIN-50G", 2, 4.00)],
                returns=[("TEA-TIN-50G", 1, 4.10)],
            ),
            # split order: same order number, another Goflow id
            order(9003, "113-9988776-7654321", [("TEA-TIN-50G", 1, 5.00)]),
            order(9004, "114-2233445-5566778", [("BLU-MUG-12OZ", 1, None)]),
        ],
        "products": [
            {
                "id": 1,
                "item_number": "BLU-MUG-12OZ",
                "pricing": {"default_price": 19.99, "default_cost": 6.0},
            },
            {
                "id": 2,
                "item_number": "TEA-TIN-50G",
                "pricing": {
                    "default_price": 12.99,
                    "default_cost": 3.9,
                    "average_cost": 4.2,
                },
            },
            {
                "id": 3,
                "item_number": "RED-MUG-12OZ",
                "pricing": {"default_price": 19.99, "default_cost": 5.0},
            },
        ],
        "stores": [{"id": 7, "name": "Amazon US", "channel": "amazon_marketplace_usa"}],
    }


class GoflowSandboxCase(ConnectbooksCase):
    """A sandbox on loopback serving :func:`small_dataset`, and store A
    connected to it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        module = sandbox_module()
        if module is None:
            raise unittest.SkipTest(
                "the Goflow sandbox (tools/) is not beside the add-on"
            )
        SandboxServer, Dataset = module
        cls.sandbox = SandboxServer(
            Dataset.from_dict(small_dataset()), token=TOKEN, page_size=2
        ).start()
        cls.addClassCleanup(cls.sandbox.stop)
        cls.connection_a.write(
            {"base_url": cls.sandbox.url, "api_token": TOKEN, "rate_limit": 0}
        )
        cls.store_a.goflow_connection_id = cls.connection_a

    def setUp(self):
        super().setUp()
        self.sandbox.clear_script()

    def _import(self, store=None, path=SMALL):
        with file_open(path, "rb") as f:
            data = f.read()
        attachment = self.env["ir.attachment"].create(
            {"name": path.rsplit("/", 1)[-1], "datas": base64.b64encode(data)}
        )
        wizard = self.env["connectbooks.settlement.import.wizard"].create(
            {
                "store_id": (store or self.store_a).id,
                "attachment_ids": [(6, 0, attachment.ids)],
            }
        )
        action = wizard.action_import()
        return self.env["connectbooks.settlement"].browse(action["res_id"])

    @staticmethod
    def _costs(settlement):
        return {
            (c.kind, c.order_ref or "", c.sku): (
                c.state,
                round(c.unit_cost, 4) if c.unit_cost else None,
                c.total_cost,
                c.missing_reason or None,
            )
            for c in settlement.cost_line_ids
        }


@tagged("post_install", "-at_install")
class TestCostSync(GoflowSandboxCase):
    def test_sync_one_order_a_slice_gives_the_same_costs(self):
        """The sync reads, asks and plans a slice of orders at a time; one
        order a slice must end exactly where one slice for all does."""
        whole = self._import()
        whole.action_sync_goflow()
        other = self.store_a.copy({"name": "Amazon US A (slices)"})
        sliced = self._import(store=other)
        requests_before = len(self.sandbox.requests_to("orders"))
        with patch.object(sync_module, "SYNC_SLICE_ORDERS", 1):
            sliced.action_sync_goflow()
        self.assertEqual(self._costs(sliced), self._costs(whole))
        self.assertEqual(sliced.cost_status, whole.cost_status)
        self.assertEqual(sliced.missing_count, whole.missing_count)
        self.assertGreaterEqual(
            len(self.sandbox.requests_to("orders")) - requests_before,
            3,
            msg="one request per order at least: the slices were asked apart",
        )

    def test_sync_costs_and_missing(self):
        settlement = self._import()
        settlement.with_user(self.bookkeeper).action_sync_goflow()
        costs = self._costs(settlement)
        self.assertEqual(
            costs[("order", "112-4455667-1234567", "BLU-MUG-12OZ")],
            ("costed", 6.25, 12.5, None),
        )
        self.assertEqual(
            costs[("order", "112-4455667-1234567", "RED-MUG-12OZ")],
            ("costed", 5.3333, 5.33, None),
            msg="4-digit unit cost, total rounded by the currency",
        )
        self.assertEqual(
            costs[("order", "113-9988776-7654321", "TEA-TIN-50G")],
            ("costed", 4.3333, 13.0, None),
            msg="split order: quantity-weighted over both Goflow orders",
        )
        self.assertEqual(
            costs[("order", "114-2233445-5566778", "BLU-MUG-12OZ")],
            ("missing", None, 0.0, "no_goflow_cost"),
            msg="a null cost is missing",
        )
        self.assertEqual(
            costs[("refund", "112-4455667-1234567", "BLU-MUG-12OZ")],
            ("costed", 6.25, -6.25, None),
            msg="no refund cost in Goflow: the original order's cost, negative",
        )
        self.assertEqual(
            costs[("refund", "113-9988776-7654321", "TEA-TIN-50G")],
            ("costed", 4.1, -4.1, None),
            msg="Goflow's refund cost wins over the order's",
        )
        self.assertEqual(
            {v[3] for k, v in costs.items() if k[0] == "adjustment"},
            {"no_order"},
            msg="reimbursements without an order stay missing for the bookkeeper",
        )
        self.assertEqual(settlement.cost_status, "missing")
        self.assertEqual(settlement.missing_count, 3)
        self.assertEqual(settlement.export_status, "Item missing cost (3)")
        self.assertTrue(settlement.last_sync_at)
        split = settlement.cost_line_ids.filtered(
            lambda c: c.order_ref == "113-9988776-7654321" and c.kind == "order"
        )
        self.assertEqual(split.goflow_order_ref, "9002,9003")
        message = settlement.message_ids[0].body
        self.assertIn("3 still missing", message)
        self.assertNotIn(TOKEN, message)

    def test_sync_twice_is_idempotent(self):
        settlement = self._import()
        settlement.action_sync_goflow()
        first = self._costs(settlement)
        count = self.env["goflow.cost.line"].search_count([])
        settlement.action_sync_goflow()
        self.assertEqual(self._costs(settlement), first)
        self.assertEqual(self.env["goflow.cost.line"].search_count([]), count)

    def test_manual_cost_survives_sync(self):
        settlement = self._import()
        line = settlement.cost_line_ids.filtered(
            lambda c: (
                c.order_ref == "112-4455667-1234567"
                and c.sku == "BLU-MUG-12OZ"
                and c.kind == "order"
            )
        )
        line.write({"unit_cost": 7.0, "state": "costed", "source": "manual"})
        settlement.action_sync_goflow()
        self.assertEqual(
            (line.unit_cost, line.source, line.total_cost), (7.0, "manual", 14.0)
        )

    def test_late_cost_updates_draft_line(self):
        settlement = self._import()
        settlement.action_sync_goflow()
        self.assertEqual(settlement.missing_count, 3)
        self.sandbox.set_line_cost(9004, 0, 6.5)
        try:
            settlement.action_sync_goflow()
        finally:
            self.sandbox.set_line_cost(9004, 0, None)
        line = settlement.cost_line_ids.filtered(
            lambda c: c.order_ref == "114-2233445-5566778"
        )
        self.assertEqual(
            (line.state, line.unit_cost, line.source), ("costed", 6.5, "goflow")
        )
        self.assertEqual(settlement.missing_count, 2)

    def test_cost_in_another_currency_is_converted(self):
        eur = self.env.ref("base.EUR")
        eur.active = True
        self.env["res.currency.rate"].create(
            {"currency_id": eur.id, "name": "2024-01-01", "rate": 0.5}
        )
        settlement = self._import()
        self.sandbox.set_line_cost(9004, 0, 5.0, currency="eur")
        try:
            settlement.action_sync_goflow()
        finally:
            self.sandbox.set_line_cost(9004, 0, None)
        line = settlement.cost_line_ids.filtered(
            lambda c: c.order_ref == "114-2233445-5566778"
        )
        self.assertEqual(
            (line.unit_cost, line.total_cost),
            (10.0, 10.0),
            msg="5 EUR at 0.5 EUR per USD is 10 USD on a USD settlement",
        )
        self.sandbox.set_line_cost(9004, 0, 5.0, currency="xyz")
        try:
            with self.assertRaisesRegex(UserError, "XYZ"):
                settlement.action_sync_goflow()
        finally:
            self.sandbox.set_line_cost(9004, 0, None)

    def test_button_error_is_a_clear_message(self):
        settlement = self._import()
        self.sandbox.fail_next(50, status=503)
        with (
            mute_logger("odoo.addons.connectbooks_goflow.core.goflow_client"),
            self.assertRaisesRegex(UserError, "24010823451") as caught,
        ):
            settlement.action_sync_goflow()
        self.assertNotIn(TOKEN, str(caught.exception))
        self.assertEqual(
            settlement.cost_status, "not_synced", msg="nothing half-written"
        )

    def test_cron_isolates_a_failing_settlement(self):
        good = self._import()
        bad_store = self._make_store(self.company_a, self.journal_a, "Amazon CA A")
        bad_store.goflow_connection_id = self.connection_a.copy(
            {"name": "Broken", "base_url": self.sandbox.url}
        )
        bad_store.goflow_connection_id.sudo().api_token = "wrong-token-987654"
        bad = self._import(store=bad_store)
        with mute_logger(
            "odoo.addons.connectbooks_goflow.models.connectbooks_settlement_sync"
        ):
            self.env["connectbooks.settlement"]._cron_sync_goflow()
        self.assertEqual(good.cost_status, "missing", msg="the good one synced")
        self.assertEqual(bad.cost_status, "not_synced")
        self.assertTrue(bad.last_sync_error)
        self.assertIn("Goflow sync failed", bad.message_ids[0].body)
        self.assertNotIn("wrong-token-987654", bad.message_ids[0].body)
        # the next cron run does not take them again within the retry delay
        self.assertFalse(
            self.env["connectbooks.settlement"].search(
                self.env["connectbooks.settlement"]._cron_sync_domain()
            )
        )

    def test_company_lock_blocks_a_second_sync(self):
        settlement = self._import()
        with self.registry.cursor() as other:
            other.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)",
                (SYNC_LOCK_KEY, self.company_a.id),
            )
            with self.assertRaisesRegex(UserError, "already running"):
                settlement.action_sync_goflow()
            self.env["connectbooks.settlement"]._cron_sync_goflow()
            self.assertEqual(settlement.cost_status, "not_synced", msg="cron skipped")
            other.rollback()
        settlement.action_sync_goflow()
        self.assertEqual(settlement.cost_status, "missing")

    def test_access(self):
        settlement = self._import()
        with self.assertRaises(AccessError):
            settlement.with_user(self.plain_user).action_sync_goflow()
        settlement.with_user(self.bookkeeper).action_sync_goflow()
        self.assertEqual(settlement.cost_status, "missing")

    def test_before_start_date_not_asked(self):
        self.store_a.cost_sync_start_date = "2024-03-10"
        settlement = self._import()
        asked_before = len(self.sandbox.requests)
        settlement.action_sync_goflow()
        early = settlement.cost_line_ids.filtered(
            lambda c: c.order_ref in ("112-4455667-1234567", "114-2233445-5566778")
        )
        self.assertEqual(set(early.mapped("missing_reason")), {"before_start"})
        self.assertEqual(set(early.mapped("state")), {"missing"})
        asked = [r for r in self.sandbox.requests[asked_before:] if "orders" in r[2]]
        self.assertTrue(asked, msg="the chargeback of 2024-03-11 is asked for")
        self.assertFalse(
            any("112-4455667" in r[3] or "114-2233445" in r[3] for r in asked),
            msg="orders before the start date are not asked for",
        )

    def test_connection_test_button(self):
        result = self.connection_a.action_test_connection()
        self.assertEqual(result["params"]["type"], "success")
        self.connection_a.sudo().api_token = "bad-token-xyz123"
        with self.assertRaisesRegex(UserError, "Goflow A"):
            self.connection_a.action_test_connection()
