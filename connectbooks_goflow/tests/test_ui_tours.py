from odoo.tests import HttpCase, tagged
from odoo.tools.misc import file_open

from .test_cost_sync import SMALL, GoflowSandboxCase

# static/tests/tours/tour_helpers.js fetches the settlement file from this
# address; fetch_proxy answers it with tests/data/amazon_v2_small.txt.
SETTLEMENT_FILE_URL = "https://files.connectbooks.test/amazon_v2_small.txt"
SETTLEMENT_REF = "24010823451"
SETTLEMENTS_URL = "/odoo/action-connectbooks_goflow.connectbooks_settlement_action"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PRODUCTS = {
    "BLU-MUG-12OZ": "Blue Mug 12 oz",
    "RED-MUG-12OZ": "Red Mug 12 oz",
    "TEA-TIN-50G": "Tea Tin 50 g",
}


class UiToursCase(HttpCase, GoflowSandboxCase):
    """The world of the tours: store A with all its accounts, connected to
    the Goflow sandbox, its products, and people with names and e-mails
    (the chatter shows them)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.bookkeeper.write(
            {"name": "Bea Bookkeeper", "email": "bea.bookkeeper@example.com"}
        )
        cls.manager.write({"name": "Max Manager", "email": "max.manager@example.com"})
        cls.env["product.product"].create(
            [
                {"name": name, "default_code": sku, "type": "consu"}
                for sku, name in PRODUCTS.items()
            ]
        )
        with file_open(SMALL, "rb") as f:
            cls.settlement_file = f.read()

    def fetch_proxy(self, url):
        if url == SETTLEMENT_FILE_URL:
            return self.make_fetch_proxy_response(self.settlement_file)
        return super().fetch_proxy(url)

    def _settlement(self):
        self.env.invalidate_all()
        return self.env["connectbooks.settlement"].search(
            [
                ("store_id", "=", self.store_a.id),
                ("settlement_ref", "=", SETTLEMENT_REF),
            ]
        )


@tagged("post_install", "-at_install")
class TestUiTours(UiToursCase):
    def test_settlement_day(self):
        """Import, sync, resolve as the bookkeeper; post and print as the
        manager; then the P&L."""
        self.start_tour(
            "/odoo", "connectbooks_goflow_import_tour", login="cbg_bookkeeper"
        )
        settlement = self._settlement()
        self.assertEqual(len(settlement), 1, msg="the tour imported the file")
        self.assertEqual(settlement.line_count, 34)
        self.assertEqual(settlement.filename, "amazon_v2_small.txt")
        self.assertEqual(settlement.create_uid, self.bookkeeper)

        self.start_tour(
            "/odoo", "connectbooks_goflow_resolve_tour", login="cbg_bookkeeper"
        )
        self.env.invalidate_all()
        self.assertEqual(settlement.export_status, "Item missing cost (1)")
        resolved = settlement.cost_line_ids.filtered("resolved_by_id")
        self.assertEqual(
            {(c.sku, c.unit_cost, c.source) for c in resolved},
            {("BLU-MUG-12OZ", 6.4, "manual"), ("TEA-TIN-50G", 4.2, "average")},
            msg="one cost typed, one pre-fill accepted",
        )
        self.assertEqual(resolved.resolved_by_id, self.bookkeeper)

        self.start_tour("/odoo", "connectbooks_goflow_post_tour", login="cbg_manager")
        settlement = self._settlement()
        self.assertEqual(settlement.state, "posted")
        self.assertEqual(settlement.move_id.state, "posted")
        self.assertEqual(settlement.cogs_move_ids.state, "posted")
        red = settlement.cost_line_ids.filtered(
            lambda c: c.sku == "RED-MUG-12OZ" and c.kind == "adjustment"
        )
        self.assertEqual((red.unit_cost, red.resolved_by_id), (5.0, self.manager))

        self.start_tour("/odoo", "connectbooks_goflow_pnl_tour", login="cbg_bookkeeper")

    def test_cogs_xlsx_download(self):
        """What Print > COGS (Excel) downloads, through report_xlsx's route."""
        settlement = self._import()
        settlement.action_sync_goflow()
        self.authenticate("cbg_bookkeeper", "cbg_bookkeeper")
        response = self.url_open(
            f"/report/xlsx/connectbooks_goflow.cogs_xlsx/{settlement.id}"
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.headers["Content-Type"], XLSX_TYPE)
        self.assertEqual(response.content[:2], b"PK", msg="an xlsx is a zip")
