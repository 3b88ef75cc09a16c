import base64
import io
from unittest.mock import patch

from psycopg2 import IntegrityError

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged
from odoo.tools import mute_logger
from odoo.tools.misc import file_open

from ..core.costing import cost_keys
from ..core.settlement_parser import read_settlement
from ..models import connectbooks_settlement_import as importer
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

    def _recomputed(self, settlement, names):
        """``names`` of ``settlement`` as the ORM computes them from the rows."""
        settlement.invalidate_recordset(names)
        for name in names:
            self.env.add_to_compute(settlement._fields[name], settlement)
        settlement.flush_recordset(names)
        settlement.invalidate_recordset(names)
        return {name: settlement[name] for name in names}

    def test_totals_set_at_import_equal_a_recompute(self):
        names = ["line_total", "balanced", "missing_count", "cost_total", "cost_status"]
        settlement = self.env["connectbooks.settlement"].browse(
            self._wizard(GOOD).action_import()["res_id"]
        )
        imported = {name: settlement[name] for name in names}
        self.assertEqual(imported["missing_count"], 8)
        self.assertEqual(self._recomputed(settlement, names), imported)

    def test_fields_with_tabs_line_breaks_and_backslashes_kept(self):
        description = 'Goodwill "size"\tC:\\notes\nsecond line\\N'
        rows = [
            "settlement_id,deposit_date,total_amount,currency,transaction_type,"
            "order_id,adjustment_id,amount_type,amount_description,amount,"
            "posted_date,sku,quantity_purchased",
            "GEN-ESC-1,2024-05-02,-1.00,USD,,,,,,,,,",
            'GEN-ESC-1,,,,Refund,112-1,A-1,ItemPrice,"{}",-1.50,2024-05-01,'
            "BLU-MUG-12OZ,1".format(description.replace('"', '""')),
            "GEN-ESC-1,,,,Order,112-2,,ItemPrice,Principal,0.50,2024-05-01,BLU\\MUG,1",
        ]
        data = ("\r\n".join(rows) + "\r\n").encode()
        settlement = self.env["connectbooks.settlement.import"]._import_file(
            self.store_a, io.BytesIO(data), "escapes.csv"
        )
        self.assertEqual(
            settlement.line_ids.sorted("line_no").mapped("amount_description"),
            [description, "Principal"],
            msg="tab, line break, backslash and the text \\N stored as written",
        )
        self.assertEqual(
            settlement.line_ids.sorted("line_no").mapped("sku"),
            ["BLU-MUG-12OZ", "BLU\\MUG"],
        )
        self.assertEqual(settlement.cost_line_ids.mapped("sku"), ["BLU\\MUG"])
        self.assertTrue(settlement.balanced)

    def test_product_matched_when_read(self):
        settlement = self.env["connectbooks.settlement"].browse(
            self._wizard(GOOD).action_import()["res_id"]
        )
        tea_lines = settlement.line_ids.filtered(lambda line: line.sku == "TEA-TIN-50G")
        self.assertTrue(tea_lines)
        self.assertFalse(tea_lines.product_id, msg="no product has that reference")
        Line = self.env["connectbooks.settlement.line"]
        unmatched = Line.search(
            [("settlement_id", "=", settlement.id), ("product_id", "=", False)]
        )
        self.assertIn(tea_lines[0], unmatched)
        tin = self.env["product.product"].create(
            {"name": "Tea tin", "default_code": "TEA-TIN-50G"}
        )
        tea_lines.invalidate_recordset(["product_id"])
        self.assertEqual(set(tea_lines.product_id), {tin}, msg="created after import")
        self.assertEqual(
            set(Line.search([("product_id", "=", tin.id)])), set(tea_lines)
        )
        self.assertEqual(
            set(Line.search([("product_id", "ilike", "tea tin")])), set(tea_lines)
        )
        mugs = Line.search(
            [("settlement_id", "=", settlement.id), ("product_id", "in", self.mug.ids)]
        )
        self.assertEqual(set(mugs.mapped("sku")), {"BLU-MUG-12OZ"})

    def test_lines_follow_their_settlement(self):
        settlement = self.env["connectbooks.settlement"].browse(
            self._wizard(GOOD).action_import()["res_id"]
        )
        Line = self.env["connectbooks.settlement.line"]
        line_ids = settlement.line_ids.ids
        self.assertEqual(len(line_ids), 34)
        missing = settlement.browse(max(settlement.search([]).ids) + 1000)
        with (
            self.assertRaises(IntegrityError, msg="the foreign key holds"),
            mute_logger("odoo.sql_db"),
            self.env.cr.savepoint(),
        ):
            Line.create({"settlement_id": missing.id, "kind": "fee"})
            Line.flush_model()
        line = Line.browse(line_ids[0])
        for user in (self.bookkeeper, self.manager, self.env.user):
            with self.assertRaises(UserError, msg="lines are kept as imported"):
                line.with_user(user).write({"amount": 1.0})
            with self.assertRaises(UserError, msg="lines go with their settlement"):
                line.with_user(user).sudo().unlink()
        settlement.unlink()
        self.assertFalse(Line.browse(line_ids).exists(), msg="deleted with it")
        self.env.cr.execute(
            "SELECT COUNT(*) FROM connectbooks_settlement_line WHERE id = ANY(%s)",
            [line_ids],
        )
        self.assertEqual(self.env.cr.fetchone()[0], 0)

    def test_cost_lines_copied_early_are_corrected(self):
        """One row a batch: cost lines are copied while the file streams
        through, and items that later rows reopen are corrected."""
        rows = [
            "settlement_id,deposit_date,total_amount,currency,transaction_type,"
            "order_id,adjustment_id,amount_type,amount_description,amount,"
            "posted_date,sku,quantity,order_item_code",
            "GEN-RE-1,2024-05-02,46.00,USD,,,,,,,,,,",
            # order A, item 1; reopened by its second shipment below
            "GEN-RE-1,,,,Order,A,,ItemPrice,Principal,10.00,2024-05-01,BLU-MUG-12OZ,1,1",
            "GEN-RE-1,,,,Order,B,,ItemPrice,Principal,20.00,2024-05-01,TEA-TIN-50G,2,5",
            # a refund first seen as a goodwill credit only, goods come later
            "GEN-RE-1,,,,Refund,B,R-1,Promotion,Goodwill,-1.00,2024-05-01,"
            "TEA-TIN-50G,,5",
            "GEN-RE-1,,,,Order,C,,ItemPrice,Principal,5.00,2024-05-01,RED-MUG-12OZ,1,7",
            # a reimbursement, reversed further down: nets to nothing
            "GEN-RE-1,,,,other-transaction,,X-1,FBA Inventory Reimbursement,"
            "WAREHOUSE_DAMAGE,8.00,2024-05-01,RED-MUG-12OZ,2,r1",
            "GEN-RE-1,,,,Order,D,,ItemPrice,Principal,4.00,2024-05-01,BLU-MUG-12OZ,1,8",
            "GEN-RE-1,,,,Order,A,,ItemPrice,Principal,20.00,2024-04-30,BLU-MUG-12OZ,2,2",
            "GEN-RE-1,,,,Refund,B,R-1,ItemPrice,Principal,-10.00,2024-05-01,"
            "TEA-TIN-50G,,5",
            "GEN-RE-1,,,,other-transaction,,X-1,FBA Inventory Reimbursement,"
            "REVERSAL_REIMBURSEMENT,-8.00,2024-05-01,RED-MUG-12OZ,2,r2",
            "GEN-RE-1,,,,Order,E,,ItemFees,Commission,-2.00,2024-05-01,,,",
        ]
        data = ("\n".join(rows) + "\n").encode()
        with patch.object(importer, "COPY_BATCH_ROWS", 1):
            settlement = self.env["connectbooks.settlement.import"]._import_file(
                self.store_a, io.BytesIO(data), "reopened.csv"
            )
        _header, parsed = read_settlement(io.BytesIO(data))
        expected = {
            (n.kind, n.order_id, n.adjustment_id, n.sku): (
                n.quantity,
                n.sign,
                n.posted_date,
            )
            for n in cost_keys(parsed)
        }
        self.assertEqual(
            expected[("order", "A", "", "BLU-MUG-12OZ")][0], 3, msg="both shipments"
        )
        self.assertIn(("refund", "B", "R-1", "TEA-TIN-50G"), expected)
        self.assertNotIn(("adjustment", "", "X-1", "RED-MUG-12OZ"), expected)
        stored = {
            (c.kind, c.order_ref or "", c.adjustment_ref or "", c.sku): (
                c.quantity,
                c.sign,
                c.posted_date,
            )
            for c in settlement.cost_line_ids
        }
        self.assertEqual(stored, expected)
        self.assertEqual(settlement.missing_count, len(expected))
        self.assertEqual(settlement.line_count, 10)
        self.assertTrue(settlement.balanced)
