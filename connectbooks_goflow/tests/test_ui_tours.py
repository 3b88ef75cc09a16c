import base64
import io
import os
import time
import unittest
from pathlib import Path

import openpyxl

from odoo.tests import HttpCase, tagged
from odoo.tests.common import ChromeBrowser
from odoo.tools.misc import file_open

from .test_cost_sync import SMALL, GoflowSandboxCase

# static/tests/tours/tour_helpers.js fetches the settlement file from this
# address; fetch_proxy answers it with tests/data/amazon_v2_small.txt.
SETTLEMENT_FILE_URL = "https://files.connectbooks.test/amazon_v2_small.txt"
# settlement_cost_workbook_tour.js fetches the filled-in costs workbook here.
COSTS_FILE_URL = "https://files.connectbooks.test/costs.xlsx"
SETTLEMENT_REF = "24010823451"
SETTLEMENTS_URL = "/odoo/action-connectbooks_goflow.connectbooks_settlement_action"
PNL_URL = "/odoo/action-connectbooks_goflow.connectbooks_settlement_pnl_action"
# Where TestUiScreenshots saves the README's pictures (docs/screenshots).
SCREENSHOTS_DIR = os.environ.get("CBG_SCREENSHOTS")
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
        if url == COSTS_FILE_URL and getattr(self, "costs_file", None):
            return self.make_fetch_proxy_response(self.costs_file)
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

    def test_cost_workbook_round_trip(self):
        """Download Costs (Excel), fill it in, Upload Costs (Excel): the
        bookkeeper's workbook is the one the server gives for the same lines
        (its keys are signed, not random)."""
        settlement = self._import()
        settlement.with_user(self.bookkeeper).action_sync_goflow()
        self.assertEqual(settlement.export_status, "Item missing cost (3)")
        env = self.env(user=self.bookkeeper)
        wizard = (
            env["goflow.cost.download.wizard"]
            .with_context(active_model=settlement._name, active_ids=settlement.ids)
            .create({})
        )
        content, _kind = env["ir.actions.report"]._render(
            "connectbooks_goflow.action_report_cost_workbook_xlsx", wizard.ids
        )
        workbook = openpyxl.load_workbook(io.BytesIO(content))
        sheet = workbook.worksheets[0]
        codes = {sheet.cell(1, c).value: c for c in range(2, sheet.max_column + 1)}
        for row in range(3, sheet.max_row + 1):
            if sheet.cell(row, codes["prefill_cost"]).value:
                sheet.cell(row, codes["use_prefill"]).value = "Yes"
            else:
                sheet.cell(row, codes["unit_cost"]).value = 3.5
        sheet.cell(3, codes["unit_cost"]).value = 6.4
        out = io.BytesIO()
        workbook.save(out)
        self.costs_file = out.getvalue()
        self.start_tour(
            "/odoo", "connectbooks_goflow_cost_workbook_tour", login="cbg_bookkeeper"
        )
        settlement = self._settlement()
        self.assertEqual(settlement.export_status, "Ready")
        resolved = settlement.cost_line_ids.filtered("resolved_by_id")
        self.assertEqual(len(resolved), 3)
        self.assertEqual(resolved.resolved_by_id, self.bookkeeper)
        self.assertEqual(
            sorted(resolved.mapped("source")),
            ["average", "average", "manual"],
            msg="one typed, two pre-fills taken",
        )

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


@tagged("post_install", "-at_install")
@unittest.skipUnless(SCREENSHOTS_DIR, "set CBG_SCREENSHOTS=<folder> to take them")
class TestUiScreenshots(UiToursCase):
    """The README's screenshots, on settlements at every stage:
    ``CBG_SCREENSHOTS=docs/screenshots ./scripts/test --stages odoo --quick
    --test-tags /connectbooks_goflow:TestUiScreenshots``."""

    browser_size = "1400x900"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.settlements = {}
        # (settlement id, month): posted, ready, synced with missing costs,
        # just imported
        for ref, month in (
            ("24010823451", "03"),
            ("24024598112", "04"),
            ("24038376603", "05"),
            ("24052154994", "06"),
        ):
            content = cls.settlement_file.replace(b"24010823451", ref.encode())
            content = content.replace(b"2024-03-", f"2024-{month}-".encode())
            cls.settlements[ref] = cls._import_content(content, f"{ref}.txt")
        posted, ready, missing, _imported = cls.settlements.values()
        for settlement in (posted, ready, missing):
            settlement.with_user(cls.bookkeeper).action_sync_goflow()
        Wizard = cls.env["goflow.resolve.cost.wizard"].with_user(cls.bookkeeper)
        for settlement in (posted, ready):
            Wizard.browse(Wizard._action_open(settlement)["res_id"]).action_resolve()
        posted.with_user(cls.manager).action_post()
        cls.missing = missing

    @classmethod
    def _import_content(cls, content, name):
        """Import ``content`` as the bookkeeper does from the wizard."""
        env = cls.env(user=cls.bookkeeper)
        attachment = env["ir.attachment"].create(
            {"name": name, "datas": base64.b64encode(content)}
        )
        wizard = env["connectbooks.settlement.import.wizard"].create(
            {"store_id": cls.store_a.id, "attachment_ids": [(6, 0, attachment.ids)]}
        )
        return cls.env["connectbooks.settlement"].browse(
            wizard.action_import()["res_id"]
        )

    def _screenshot(self, name, url, *steps, login="cbg_bookkeeper"):
        """Open ``url``, wait for each JavaScript condition of ``steps`` to
        be true (a step may click), then save the page as ``name``.png."""
        browser = ChromeBrowser(self)
        try:
            self.authenticate(login, login, browser=browser)
            browser.navigate_to(self.base_url() + url, wait_stop=True)
            for step in steps:
                self.assertTrue(browser._wait_ready(step, timeout=30), msg=step)
            time.sleep(1)  # let dialogs and notifications finish appearing
            shot = browser._websocket_request(
                "Page.captureScreenshot", params={"format": "png"}, timeout=30
            )
        finally:
            browser.stop()
        folder = Path(SCREENSHOTS_DIR)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.png").write_bytes(base64.b64decode(shot["data"]))

    def test_screenshots(self):
        def present(selector, count=1):
            return f"document.querySelectorAll({selector!r}).length >= {count}"

        def click(selector):
            return (
                f"(e => !!e && (e.click(), true))(document.querySelector({selector!r}))"
            )

        self._screenshot(
            "settlement_list",
            SETTLEMENTS_URL,
            present(".o_list_view .o_data_row", len(self.settlements)),
        )
        form_url = f"{SETTLEMENTS_URL}/{self.missing.id}"
        resolve = self.env.ref(
            "connectbooks_goflow.goflow_resolve_cost_wizard_action_settlement"
        )
        form_ready = present(
            ".o_form_view .o_field_widget[name=cost_line_ids] .o_data_row"
        )
        self._screenshot("settlement_form", form_url, form_ready)
        self._screenshot(
            "resolve_wizard",
            form_url,
            form_ready,
            click(f".o_statusbar_buttons button[name='{resolve.id}']"),
            present(".modal .o_field_widget[name=sku_ids] .o_data_row", 3),
        )
        self._screenshot(
            "pnl_pivot",
            PNL_URL,
            present(".o_list_view .o_group_header"),
            click(".o_switch_view.o_pivot"),
            present(".o_pivot table thead th.o_pivot_header_cell_opened"),
            # columns by kind folded: one column per measure
            click(".o_pivot table thead th.o_pivot_header_cell_opened"),
            present(".o_pivot table thead th.o_pivot_header_cell_closed"),
            present(".o_pivot table tbody tr", len(self.settlements) + 1),
        )
