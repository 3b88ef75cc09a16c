"""A Walmart settlement from end to end: the reconciliation report imported
(as Walmart delivers it, CSV or zip), its costs synced from the Goflow
sandbox, the missing one resolved, posted with Walmart's default amount
mappings, and its COGS workbook printed."""

import io
import os
import zipfile
from pathlib import Path

import openpyxl

from odoo import fields
from odoo.tests import tagged
from odoo.tools import mute_logger

from ..core.cogs_workbook import COGS_COLUMNS
from ..models.connectbooks_store_fetch import CRON_MAX_WAIT
from .test_walmart_fetch import MUTED, REF, ROWS, WalmartFetchCase

REPORT = "connectbooks_goflow.action_report_cogs_xlsx"
RESOLVE = "connectbooks_goflow.goflow_resolve_cost_wizard_action_settlement"
COL = {column.key: index for index, column in enumerate(COGS_COLUMNS)}
CUSTOMER_ORDER = "200015491736080"
PURCHASE_ORDER = "129119795615034"


@tagged("post_install", "-at_install")
class TestWalmartSettlement(WalmartFetchCase):
    def _costs(self, settlement):
        return {
            (c.kind, c.order_ref, c.sku): (c.state, c.quantity, c.total_cost)
            for c in settlement.cost_line_ids
        }

    @mute_logger(*MUTED)
    def test_import_sync_resolve_post_print(self):
        settlement = self._upload(self.recon, "recon_03142026.csv")
        self.assertEqual(
            (settlement.settlement_ref, settlement.line_count, settlement.layout),
            (REF, ROWS, "walmart_recon_v1"),
        )
        self.assertTrue(settlement.balanced, msg="the rows sum to Total Payable")
        self.assertEqual(settlement.total_amount, 854.13)
        # Sync, as the bookkeeper.
        settlement.with_user(self.bookkeeper).action_sync_goflow()
        costs = self._costs(settlement)
        self.assertEqual(
            costs[("order", CUSTOMER_ORDER, "BLU-MUG-12OZ")],
            ("costed", 2, 12.5),
            msg="ship qty counted once per purchase order line",
        )
        self.assertEqual(
            costs[("order", "200015500000001", "TEA-TIN-50G")], ("costed", 1, 4.0)
        )
        self.assertEqual(
            costs[("order", "200015500000001", "BLU-MUG-12OZ")][0],
            "missing",
            msg="Goflow has no cost for it",
        )
        self.assertEqual(costs[("refund", CUSTOMER_ORDER, "BLU-MUG-12OZ")][0], "costed")
        self.assertEqual(settlement.missing_count, 1)
        # Resolve the missing cost with the pre-filled average.
        action = (
            self.env.ref(RESOLVE)
            .with_user(self.bookkeeper)
            .with_context(
                active_model=settlement._name,
                active_ids=settlement.ids,
                active_id=settlement.id,
            )
            .run()
        )
        wizard = (
            self.env[action["res_model"]]
            .with_user(self.bookkeeper)
            .browse(action["res_id"])
        )
        self.assertTrue(wizard.line_ids.unit_cost, msg="a pre-fill is offered")
        wizard.action_resolve()
        self.assertEqual(settlement.missing_count, 0)
        self.assertEqual(settlement.cost_status, "complete")
        # Post, as the manager: Walmart's default mappings book every row,
        # the WFS row Walmart writes without an amount type included.
        settlement.with_user(self.manager).action_post()
        self.assertEqual(settlement.state, "posted")
        self.assertEqual(settlement.move_id.state, "posted")
        clearing = settlement.move_id.line_ids.filtered(
            lambda item: item.account_id == self.store_w.clearing_account_id
        )
        self.assertAlmostEqual(sum(clearing.mapped("balance")), 854.13, places=2)
        cogs = settlement.cogs_move_ids.line_ids.filtered(
            lambda item: item.account_id == self.store_w.cogs_account_id
        )
        self.assertTrue(cogs, msg="a COGS entry")
        # Print, as the bookkeeper.
        content, kind = (
            self.env["ir.actions.report"]
            .with_user(self.bookkeeper)
            ._render(REPORT, settlement.ids)
        )
        self.assertEqual(kind, "xlsx")
        book = openpyxl.load_workbook(io.BytesIO(content), data_only=True)
        rows = list(book["COGS"].iter_rows(values_only=True))
        orders = {row[COL["order_ref"]] for row in rows[1:-1]}
        self.assertIn(CUSTOMER_ORDER, orders)
        self.assertAlmostEqual(
            rows[-1][COL["total_cost"]],
            sum(cogs.mapped("balance")),
            places=2,
            msg="the workbook total is what the COGS entry booked",
        )

    @mute_logger(*MUTED)
    def test_zip_as_walmart_delivers_it(self):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("10000000001_03142026.csv", self.recon)
        settlement = self._upload(buffer.getvalue(), "recon.zip")
        self.assertEqual(
            (settlement.settlement_ref, settlement.line_count), (REF, ROWS)
        )

    @mute_logger(*MUTED)
    def test_goflow_knows_orders_by_purchase_order_number(self):
        """The store's one setting: which Walmart number is the order id."""
        self.store_w.walmart_order_number = "purchase_order"
        settlement = self._upload(self.recon, "recon.csv")
        line = settlement.line_ids.filtered(
            lambda item: item.kind == "order" and item.sku == "BLU-MUG-12OZ"
        )[:1]
        self.assertEqual(
            (line.order_ref, line.merchant_order_ref), (PURCHASE_ORDER, CUSTOMER_ORDER)
        )
        settlement.action_sync_goflow()
        cost = settlement.cost_line_ids.filtered(
            lambda c: c.order_ref == PURCHASE_ORDER and c.kind == "order"
        )
        self.assertEqual(
            (cost.state, cost.missing_reason),
            ("missing", "not_in_goflow"),
            msg="Goflow knows this order by its customer order number",
        )


def _real_recon_zip():
    """The genuine recon report's zip, where the optional folder of genuine
    marketplace files is at hand (see tests/test_settlement_real_files.py at
    the repository root), else ``None``."""
    root = Path(__file__).resolve().parents[2]
    folder = Path(
        os.environ.get("CBG_REAL_SETTLEMENTS")
        or root.parent / "shared" / "real-settlements"
    )
    found = sorted(folder.glob("walmart_recon_v1_*.zip")) if folder.is_dir() else []
    return found[0] if found else None


@tagged("post_install", "-at_install")
class TestWalmartRealFile(WalmartFetchCase):
    @mute_logger(*MUTED)
    def test_genuine_report_fetched_synced_resolved_posted(self):
        path = _real_recon_zip()
        if path is None:
            self.skipTest("no genuine Walmart recon report (set CBG_REAL_SETTLEMENTS)")
        self.store_w.fetch_since = False
        self.api.add_recon_file(path, report_date=fields.Date.today())
        result = self.store_w._fetch(False, CRON_MAX_WAIT)
        self.assertEqual((result.failed, result.error), (0, None))
        settlement = self._settlements()
        self.assertEqual(
            (settlement.line_count, settlement.total_amount, settlement.balanced),
            (5279, 8805.63, True),
        )
        self.assertTrue(settlement.last_sync_at, msg="synced after the fetch")
        missing = settlement.cost_line_ids.filtered(lambda c: c.state == "missing")
        missing.write({"unit_cost": 1.0, "state": "costed", "source": "manual"})
        settlement.with_user(self.manager).action_post()
        self.assertEqual(settlement.state, "posted")
        clearing = settlement.move_id.line_ids.filtered(
            lambda item: item.account_id == self.store_w.clearing_account_id
        )
        self.assertAlmostEqual(sum(clearing.mapped("balance")), 8805.63, places=2)
        _content, kind = self.env["ir.actions.report"]._render(REPORT, settlement.ids)
        self.assertEqual(kind, "xlsx")
