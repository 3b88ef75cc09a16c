from psycopg2 import IntegrityError

from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import ConnectbooksCase


@tagged("post_install", "-at_install")
class TestSettlementModel(ConnectbooksCase):
    def test_duplicate_settlement_refused(self):
        self._make_settlement(self.store_a, ref="DUP-1")
        with self.assertRaisesRegex(UserError, "DUP-1.*Amazon US A"):
            self._make_settlement(self.store_a, ref="DUP-1")
        # the same id in another store is another settlement
        other = self._make_settlement(self.store_b, ref="DUP-1")
        self.assertTrue(other)

    def test_cost_line_key_unique(self):
        settlement = self._make_settlement(self.store_a, ref="KEY-1")
        values = {
            "settlement_id": settlement.id,
            "kind": "order",
            "order_ref": "111-1",
            "sku": "SKU-1",
            "quantity": 1,
        }
        self.env["goflow.cost.line"].create(values)
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError):
            with self.env.cr.savepoint():
                self.env["goflow.cost.line"].create(values)

    def test_positive_quantity(self):
        settlement = self._make_settlement(self.store_a, ref="QTY-1")
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError):
            with self.env.cr.savepoint():
                self.env["goflow.cost.line"].create(
                    {"settlement_id": settlement.id, "kind": "order", "quantity": 0}
                )

    def test_cost_status_and_export_status(self):
        settlement = self._make_settlement(self.store_a, ref="ST-1")
        self.assertEqual(settlement.cost_status, "complete", msg="nothing to cost")
        line = self.env["goflow.cost.line"].create(
            {
                "settlement_id": settlement.id,
                "kind": "order",
                "order_ref": "1",
                "sku": "S",
                "quantity": 2,
            }
        )
        self.assertEqual(settlement.cost_status, "not_synced")
        line.write({"synced_at": "2025-01-01 00:00:00"})
        self.assertEqual(settlement.cost_status, "missing")
        self.assertEqual(settlement.missing_count, 1)
        self.assertEqual(settlement.export_status, "Item missing cost (1)")
        line.write({"state": "costed", "unit_cost": 1.005, "source": "goflow"})
        self.assertEqual(settlement.cost_status, "complete")
        self.assertAlmostEqual(
            line.total_cost, 2.01, msg="2 x 1.005 rounded by currency"
        )

    def test_posted_settlement_cannot_be_deleted(self):
        settlement = self._make_settlement(self.store_a, ref="DEL-1")
        with self.assertRaises(UserError, msg="state moves only through Post"):
            settlement.state = "posted"
        with self.assertRaises(UserError, msg="no context key opens the guard"):
            settlement.with_context(connectbooks_posting=True).state = "posted"
        settlement._write_posting_fields({"state": "posted"})
        with self.assertRaises(UserError, msg="a posted settlement keeps its total"):
            settlement.total_amount = 1.0
        with self.assertRaises(UserError):
            settlement.unlink()
