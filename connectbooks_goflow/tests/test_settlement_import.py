import base64

from odoo.exceptions import AccessError
from odoo.tests import tagged
from odoo.tools.misc import file_open

from .common import ConnectbooksCase

GOOD = "connectbooks_goflow/tests/data/amazon_v2_small.txt"
BAD_TOTAL = "connectbooks_goflow/tests/data/amazon_v2_bad_total.txt"


@tagged("post_install", "-at_install")
class TestSettlementImport(ConnectbooksCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.mug = cls.env["product.product"].create(
            {"name": "Blue mug", "default_code": "BLU-MUG-12OZ"}
        )

    def _attachment(self, env, path, name=None):
        with file_open(path, "rb") as f:
            data = f.read()
        return env["ir.attachment"].create(
            {"name": name or path.rsplit("/", 1)[-1], "datas": base64.b64encode(data)}
        )

    def _wizard(self, *paths, user=None):
        env = self.env(user=user) if user else self.env
        attachments = env["ir.attachment"]
        for path in paths:
            attachments |= self._attachment(env, path)
        return env["connectbooks.settlement.import.wizard"].create(
            {
                "store_id": self.store_a.id,
                "attachment_ids": [(6, 0, attachments.ids)],
            }
        )

    def _counts(self):
        return (
            self.env["connectbooks.settlement"].search_count([]),
            self.env["connectbooks.settlement.line"].search_count([]),
            self.env["goflow.cost.line"].search_count([]),
        )

    def test_import_creates_settlement_lines_and_costs(self):
        action = self._wizard(GOOD, user=self.bookkeeper).action_import()
        settlement = self.env["connectbooks.settlement"].browse(action["res_id"])
        self.assertEqual(action["res_model"], "connectbooks.settlement")
        self.assertEqual(settlement.settlement_ref, "24010823451")
        self.assertEqual(settlement.store_id, self.store_a)
        self.assertEqual(str(settlement.deposit_date), "2024-03-17")
        self.assertEqual(settlement.currency_id.name, "USD")
        self.assertAlmostEqual(settlement.total_amount, 127.20)
        self.assertEqual(settlement.line_count, 34, msg="every amount row, no summary")
        self.assertAlmostEqual(settlement.line_total, 127.20)
        self.assertTrue(settlement.balanced)
        lines = settlement.line_ids
        self.assertEqual(
            set(lines.filtered(lambda line: line.sku == "BLU-MUG-12OZ").product_id),
            {self.mug},
            msg="products matched on internal reference",
        )
        self.assertEqual(
            sorted(set(lines.mapped("kind"))),
            ["adjustment", "fee", "order", "other", "refund", "reserve"],
        )
        costs = settlement.cost_line_ids
        keys = {(c.kind, c.order_ref or "", c.sku): (c.quantity, c.sign) for c in costs}
        self.assertEqual(
            keys,
            {
                ("order", "112-4455667-1234567", "BLU-MUG-12OZ"): (2, 1),
                ("order", "112-4455667-1234567", "RED-MUG-12OZ"): (1, 1),
                ("order", "113-9988776-7654321", "TEA-TIN-50G"): (3, 1),
                ("order", "114-2233445-5566778", "BLU-MUG-12OZ"): (1, 1),
                ("refund", "112-4455667-1234567", "BLU-MUG-12OZ"): (1, -1),
                ("refund", "113-9988776-7654321", "TEA-TIN-50G"): (1, -1),
                ("adjustment", "", "TEA-TIN-50G"): (1, 1),
                ("adjustment", "", "RED-MUG-12OZ"): (1, -1),
            },
            msg="one cost line per order/refund/adjustment and SKU; fees need none",
        )
        self.assertTrue(all(c.state == "missing" for c in costs))
        self.assertEqual(
            set(
                costs.filtered(lambda c: c.kind == "adjustment").mapped(
                    "missing_reason"
                )
            ),
            {"no_order"},
        )
        self.assertEqual(settlement.cost_status, "not_synced")
        self.assertEqual(settlement.missing_count, 8)
        attachment = self.env["ir.attachment"].search(
            [("res_model", "=", settlement._name), ("res_id", "=", settlement.id)]
        )
        self.assertEqual(len(attachment), 1, msg="the source file is kept")

    def test_duplicate_refused_by_name(self):
        self._wizard(GOOD).action_import()
        before = self._counts()
        wizard = self._wizard(GOOD)
        action = wizard.action_import()
        self.assertEqual(action["res_model"], wizard._name, msg="wizard shows errors")
        self.assertIn("24010823451", wizard.error_message)
        self.assertIn("already imported", wizard.error_message)
        self.assertIn(self.store_a.name, wizard.error_message)
        self.assertEqual(self._counts(), before, msg="nothing written")

    def test_bad_file_writes_nothing(self):
        before = self._counts()
        attachments_before = self.env["ir.attachment"].search_count([])
        wizard = self._wizard(BAD_TOTAL)
        attachment_ids = wizard.attachment_ids.ids
        wizard.action_import()
        self.assertIn("amazon_v2_bad_total.txt", wizard.error_message)
        self.assertIn("999.99", wizard.error_message, msg="both figures shown")
        self.assertIn("127.20", wizard.error_message)
        self.assertEqual(self._counts(), before, msg="no settlement, line or cost line")
        self.assertFalse(
            self.env["ir.attachment"].browse(attachment_ids).exists(),
            msg="the rejected file is not kept",
        )
        self.assertEqual(
            self.env["ir.attachment"].search_count([]),
            attachments_before,
        )

    def test_multi_file_one_bad(self):
        wizard = self._wizard(GOOD, BAD_TOTAL)
        wizard.action_import()
        self.assertEqual(len(wizard.settlement_ids), 1)
        self.assertEqual(wizard.settlement_ids.settlement_ref, "24010823451")
        self.assertIn("amazon_v2_bad_total.txt", wizard.error_message)
        self.assertNotIn("amazon_v2_small.txt", wizard.error_message)
        self.assertFalse(
            self.env["connectbooks.settlement"].search(
                [("settlement_ref", "=", "24010823452")]
            )
        )

    def test_plain_user_cannot_import(self):
        with self.assertRaises(AccessError):
            self._wizard(GOOD, user=self.plain_user)
