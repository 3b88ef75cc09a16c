import base64
import io
import zipfile

from odoo.tests import tagged
from odoo.tools.misc import file_open

from .common import ConnectbooksCase

RECON = "connectbooks_goflow/tests/data/walmart_recon_v1_small.csv"
MEMBER = "Demo_Seller_10001051452_MP_03172026_reconciliationreport_v1.csv"


@tagged("post_install", "-at_install")
class TestSettlementImportWalmart(ConnectbooksCase):
    """Walmart's reconciliation report is imported as Walmart delivers it,
    the CSV or its zip, through the same wizard as an Amazon file."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.store_a.marketplace = "walmart"
        with file_open(RECON, "rb") as handle:
            cls.recon = handle.read()
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(MEMBER, cls.recon)
        cls.recon_zip = buffer.getvalue()

    def _import(self, name, data):
        attachment = self.env["ir.attachment"].create(
            {"name": name, "datas": base64.b64encode(data)}
        )
        wizard = self.env["connectbooks.settlement.import.wizard"].create(
            {"store_id": self.store_a.id, "attachment_ids": [(6, 0, attachment.ids)]}
        )
        action = wizard.action_import()
        self.assertEqual(
            action["res_model"],
            "connectbooks.settlement",
            msg=f"{name} imported: {wizard.error_message}",
        )
        return self.env["connectbooks.settlement"].browse(action["res_id"])

    def test_recon_csv_imported(self):
        settlement = self._import("recon.csv", self.recon)
        self.assertEqual(settlement.settlement_ref, "20260301-20260314")
        self.assertEqual(settlement.layout, "walmart_recon_v1")
        self.assertEqual(str(settlement.deposit_date), "2026-03-14")
        self.assertAlmostEqual(settlement.total_amount, 854.13)
        self.assertEqual(settlement.line_count, 18, msg="every amount row")
        self.assertTrue(settlement.balanced)
        costs = {
            (c.kind, c.order_ref, c.sku): (c.quantity, c.sign)
            for c in settlement.cost_line_ids
        }
        self.assertEqual(
            costs,
            {
                ("order", "200015491736080", "BLU-MUG-12OZ"): (2, 1),
                ("order", "200015500000001", "TEA-TIN-50G"): (1, 1),
                ("order", "200015500000001", "BLU-MUG-12OZ"): (1, 1),
                ("refund", "200015491736080", "BLU-MUG-12OZ"): (1, -1),
            },
            msg="sales and the refund; WFS fees need no cost",
        )
        self.assertEqual(
            settlement.unmapped_count,
            0,
            msg="Walmart's defaults map every row, the one without an amount "
            "type by its description",
        )
        disposal = settlement.line_ids.filtered(
            lambda line: line.amount_description == "WFS RC_InventoryDisposalFee"
        )
        self.assertFalse(disposal.amount_type)
        # The P&L classifies it by the same rule: a fee, not "other".
        group = settlement.line_ids.filtered(
            lambda line: (
                line.kind == disposal.kind and not line.order_ref and not line.sku
            )
        )
        pnl = self.env["connectbooks.settlement.pnl"].search(
            [
                ("settlement_id", "=", settlement.id),
                ("kind", "=", disposal.kind),
                ("order_ref", "=", False),
                ("sku", "=", False),
            ]
        )
        self.assertEqual(len(pnl), 1)
        self.assertAlmostEqual(pnl.fees, sum(group.mapped("amount")))
        self.assertAlmostEqual(pnl.other, 0.0)

    def test_report_of_another_marketplace_refused(self):
        """A Walmart report into an Amazon store (and the reverse) would be
        mapped by the other marketplace's rules: refused, nothing written."""
        Settlement = self.env["connectbooks.settlement"]
        before = Settlement.search_count([])
        self.store_a.marketplace = "amazon"
        attachment = self.env["ir.attachment"].create(
            {"name": "recon.csv", "datas": base64.b64encode(self.recon)}
        )
        wizard = self.env["connectbooks.settlement.import.wizard"].create(
            {"store_id": self.store_a.id, "attachment_ids": [(6, 0, attachment.ids)]}
        )
        action = wizard.action_import()
        self.assertNotEqual(action.get("res_model"), "connectbooks.settlement")
        message = wizard.error_message
        self.assertIn("recon.csv is a Walmart settlement report", message)
        self.assertIn(f"store {self.store_a.name} sells on Amazon", message)
        self.assertEqual(Settlement.search_count([]), before)

    def test_recon_zip_imported(self):
        settlement = self._import("recon.zip", self.recon_zip)
        self.assertEqual(settlement.settlement_ref, "20260301-20260314")
        self.assertEqual(settlement.line_count, 18)
