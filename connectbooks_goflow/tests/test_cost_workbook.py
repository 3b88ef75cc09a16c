"""Download Costs (Excel) → fill in with openpyxl → Upload Costs (Excel)."""

import base64
import io
import zipfile
from datetime import date
from decimal import Decimal

import openpyxl

from odoo.exceptions import AccessError, UserError
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tests.common import JsonRpcException
from odoo.tools import mute_logger

from ..core.cost_workbook import COLUMNS, MAX_LISTED_ERRORS
from .test_cost_sync import GoflowSandboxCase

REPORT = "connectbooks_goflow.action_report_cost_workbook_xlsx"
DOWNLOAD = "goflow.cost.download.wizard"
UPLOAD = "goflow.cost.upload.wizard"
FIRST = 3  # first data row of the Costs sheet
# The three costs Goflow does not have for tests/data/amazon_v2_small.txt.
LATE_ORDER = "114-2233445-5566778"  # BLU-MUG-12OZ, Goflow default cost 6.0
LATE = ("Order", LATE_ORDER, "BLU-MUG-12OZ")
TEA = "TEA-TIN-50G"  # Goflow average 4.2
RED = "RED-MUG-12OZ"  # Goflow default cost 5.0


class CostWorkbookCase(GoflowSandboxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.readonly = new_test_user(
            cls.env,
            login="cbg_readonly",
            groups="account.group_account_readonly",
            company_id=cls.company_a.id,
            company_ids=[(6, 0, cls.company_a.ids)],
        )

    def _download(self, records, user=None, scope="missing"):
        """Open Download Costs (Excel) on ``records`` as ``user``, press
        Download and render what the browser would get."""
        env = self.env(user=user or self.bookkeeper)
        wizard = (
            env[DOWNLOAD]
            .with_context(active_model=records._name, active_ids=records.ids)
            .create({"scope": scope})
        )
        action = wizard.action_download()
        self.assertEqual(
            (action["type"], action["report_name"]),
            ("ir.actions.report", "connectbooks_goflow.cost_workbook_xlsx"),
            msg="Download returns the report_xlsx action",
        )
        content, kind = env["ir.actions.report"]._render(REPORT, wizard.ids)
        self.assertEqual(kind, "xlsx")
        return content

    @staticmethod
    def _sheet(content):
        workbook = openpyxl.load_workbook(io.BytesIO(content))
        ws = workbook.worksheets[0]
        codes = {ws.cell(1, c).value: c for c in range(2, ws.max_column + 1)}
        codes["key"] = 1
        return workbook, ws, codes

    def _rows(self, content):
        """``{(kind, order or adjustment, SKU): {code: value}}`` of the Costs
        sheet."""
        _workbook, ws, codes = self._sheet(content)
        rows = {}
        for r in range(FIRST, ws.max_row + 1):
            values = {code: ws.cell(r, c).value for code, c in codes.items()}
            values["row"] = r
            rows[self._key(values)] = values
        return rows

    @staticmethod
    def _key(values):
        ref = values["order_ref"] or values["adjustment_ref"]
        return (values["kind"], ref, values["sku"])

    def _fill(self, content, cells):
        """Fill ``{(kind, order, SKU): {code: value}}`` in, as a person would."""
        workbook, ws, codes = self._sheet(content)
        rows = self._rows(content)
        for key, values in cells.items():
            for code, value in values.items():
                ws.cell(rows[key]["row"], codes[code]).value = value
        out = io.BytesIO()
        workbook.save(out)
        return out.getvalue()

    def _upload(self, content, user=None, filename="costs.xlsx"):
        env = self.env(user=user or self.bookkeeper)
        wizard = env[UPLOAD].create(
            {"file": base64.b64encode(content), "filename": filename}
        )
        return wizard.action_upload()

    def _synced(self):
        settlement = self._import()
        settlement.action_sync_goflow()
        self.assertEqual(settlement.missing_count, 3)
        return settlement

    def _missing_lines(self, settlement, count, sku="BULK-SKU"):
        return self.env["goflow.cost.line"].create(
            [
                {
                    "settlement_id": settlement.id,
                    "kind": "order",
                    "order_ref": f"{settlement.settlement_ref}-{index:05d}",
                    "sku": sku,
                    "quantity": 1,
                    "state": "missing",
                    "missing_reason": "no_goflow_cost",
                    "posted_date": date(2024, 3, 5),
                }
                for index in range(count)
            ]
        )


@tagged("post_install", "-at_install")
class TestCostWorkbook(CostWorkbookCase):
    # -- download --

    def test_download_lists_missing_lines_with_prefill(self):
        settlement = self._synced()
        rows = self._rows(self._download(settlement))
        self.assertEqual(len(rows), 3, msg="one row per missing cost line")
        late = rows[LATE]
        self.assertEqual(late["settlement"], settlement.display_name)
        self.assertEqual(late["kind"], "Order")
        self.assertEqual(late["missing_reason"], "No cost in Goflow")
        self.assertEqual(
            (late["prefill_cost"], late["prefill_basis"]),
            (6.0, "Goflow default cost"),
            msg="the pre-fill and its basis, as in the resolve wizard",
        )
        self.assertEqual((late["unit_cost"], late["use_prefill"]), (None, "No"))
        tea = next(values for key, values in rows.items() if key[2] == TEA)
        self.assertEqual(
            (tea["prefill_cost"], tea["prefill_basis"]), (4.2, "Goflow average")
        )

    def test_download_every_line(self):
        settlement = self._synced()
        rows = self._rows(self._download(settlement, scope="every"))
        self.assertEqual(len(rows), len(settlement.cost_line_ids))
        costed = [v for v in rows.values() if v["current_cost"] is not None]
        self.assertEqual(len(costed), len(rows) - 3, msg="costed lines shown")
        self.assertTrue(all(v["source"] == "Goflow" for v in costed))

    def test_download_from_missing_costs_list(self):
        settlement = self._synced()
        missing = settlement.cost_line_ids.filtered(lambda c: c.state == "missing")
        rows = self._rows(self._download(missing[:2]))
        self.assertEqual(len(rows), 2, msg="the selected lines only")

    def test_nothing_to_download_fails_early(self):
        settlement = self._make_settlement(self.store_a, "WB-NONE")
        wizard = (
            self.env[DOWNLOAD]
            .with_user(self.bookkeeper)
            .with_context(active_model=settlement._name, active_ids=settlement.ids)
            .create({})
        )
        with self.assertRaisesRegex(UserError, "Nothing to download"):
            wizard.action_download()

    # -- round trip --

    def test_round_trip(self):
        settlement = self._synced()
        self.assertEqual(settlement.export_status, "Item missing cost (3)")
        content = self._download(settlement)
        rows = self._rows(content)
        tea = next(key for key in rows if key[2] == TEA)
        red = next(key for key in rows if key[2] == RED)
        filled = self._fill(
            content,
            {
                LATE: {"unit_cost": 6.4},
                tea: {"use_prefill": "Yes"},
                red: {"unit_cost": 5},
            },
        )
        result = self._upload(filled)
        self.assertEqual(result["params"]["message"], "3 cost(s) saved.")
        costs = {
            c.sku: (c.state, c.unit_cost, c.source, c.resolved_by_id)
            for c in settlement.cost_line_ids
            if c.resolved_by_id
        }
        self.assertEqual(
            costs,
            {
                "BLU-MUG-12OZ": ("costed", 6.4, "manual", self.bookkeeper),
                TEA: ("costed", 4.2, "average", self.bookkeeper),
                RED: ("costed", 5.0, "manual", self.bookkeeper),
            },
            msg="typed: manual; Use Pre-filled: the current average; who",
        )
        self.assertTrue(
            all(
                settlement.cost_line_ids.filtered("resolved_by_id").mapped(
                    "resolved_at"
                )
            )
        )
        self.assertEqual(settlement.missing_count, 0)
        self.assertEqual(settlement.export_status, "Ready")
        body = settlement.message_ids[0].body
        self.assertIn("Costs uploaded from the workbook costs.xlsx.", body)
        self.assertIn("3 line(s), 2 typed and 1 at the pre-filled", body)

    def test_empty_rows_left_alone(self):
        settlement = self._synced()
        content = self._download(settlement)
        filled = self._fill(content, {LATE: {"unit_cost": 0}})
        self._upload(filled)
        self.assertEqual(settlement.missing_count, 2, msg="two rows left empty")
        late = settlement.cost_line_ids.filtered(lambda c: c.order_ref == LATE_ORDER)
        self.assertEqual(
            (late.filtered(lambda c: c.kind == "order").unit_cost, late[0].source),
            (0.0, "manual"),
            msg="a 0 typed in a cell is saved",
        )

    def test_several_settlements_one_message_each(self):
        first = self._make_settlement(self.store_a, "WB-1")
        second = self._make_settlement(self.store_a, "WB-2")
        self._missing_lines(first, 2)
        self._missing_lines(second, 3)
        content = self._download(first | second)
        rows = self._rows(content)
        self.assertEqual(len(rows), 5)
        filled = self._fill(content, {key: {"unit_cost": 1.5} for key in rows})
        self._upload(filled)
        for settlement in first | second:
            self.assertEqual(settlement.missing_count, 0)
            self.assertIn(
                "Costs uploaded from the workbook", settlement.message_ids[0].body
            )

    def test_skipped_rows_are_not_errors(self):
        settlement = self._make_settlement(self.store_a, "WB-SKIP")
        posted = self._make_settlement(self.store_a, "WB-POSTED")
        lines = self._missing_lines(settlement, 3)
        self._missing_lines(posted, 1)
        content = self._download(settlement | posted)
        # meanwhile: a sync costs one line, the other settlement is posted
        lines[0].write({"unit_cost": 2.0, "state": "costed", "source": "goflow"})
        posted._write_posting_fields({"state": "posted"})
        rows = self._rows(content)
        filled = self._fill(content, {key: {"unit_cost": 3.0} for key in rows})
        result = self._upload(filled)
        message = result["params"]["message"]
        self.assertIn("2 cost(s) saved.", message)
        self.assertIn("2 row(s) skipped", message)
        self.assertIn("(the line has a cost now)", message)
        self.assertIn("(its settlement is posted)", message)
        self.assertEqual(result["params"]["type"], "warning")
        self.assertEqual(
            (lines[0].unit_cost, lines[0].source), (2.0, "goflow"), msg="left alone"
        )
        self.assertEqual(set((lines[1:]).mapped("unit_cost")), {3.0})

    # -- bad workbooks: a clear message, nothing changed --

    def _assert_refused(self, settlement, content, pattern, filename="costs.xlsx"):
        before = settlement.missing_count
        with self.assertRaisesRegex(UserError, pattern) as caught:
            self._upload(content, filename=filename)
        settlement.invalidate_recordset()
        self.assertEqual(settlement.missing_count, before, msg="nothing changed")
        self.assertFalse(
            settlement.cost_line_ids.filtered("resolved_by_id"), msg="nothing written"
        )
        return str(caught.exception)

    def test_not_an_xlsx(self):
        settlement = self._synced()
        content = self._download(settlement)
        cases = [
            (
                "costs.xls",
                b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504,
                r"\.xls\)",
            ),
            (
                "costs.csv",
                b"sku,unit cost\nTEA-TIN-50G,4.2\n",
                r"not an Excel workbook",
            ),
            ("costs.xlsx", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, r"not an Excel workbook"),
            ("costs.xlsm", self._as_xlsm(content), r"macro-enabled workbook \(.xlsm\)"),
        ]
        for filename, data, pattern in cases:
            with self.subTest(filename=filename):
                message = self._assert_refused(settlement, data, pattern, filename)
                self.assertIn(filename, message, msg="the file is named")

    @staticmethod
    def _as_xlsm(content):
        source = zipfile.ZipFile(io.BytesIO(content))
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as archive:
            for name in source.namelist():
                data = source.read(name)
                if name == "[Content_Types].xml":
                    data = data.replace(
                        b"spreadsheetml.sheet.main+xml",
                        b"spreadsheetml.sheet.main+xml-x",
                    ).replace(
                        b"application/vnd.openxmlformats-officedocument."
                        b"spreadsheetml.sheet.main+xml-x",
                        b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
                    )
                archive.writestr(name, data)
            archive.writestr("xl/vbaProject.bin", b"\0" * 16)
        return out.getvalue()

    def test_another_database(self):
        settlement = self._synced()
        content = self._download(settlement)
        self.env["ir.config_parameter"].set_param("database.secret", "another-db")
        filled = self._fill(content, {LATE: {"unit_cost": 2}})
        self._assert_refused(settlement, filled, "downloaded from another database")

    def test_tampered_key(self):
        settlement = self._synced()
        content = self._download(settlement)
        late = self._rows(content)[LATE]
        line_id, prefill, mac = late["key"].split(":")
        forged = f"{int(line_id) + 1}:{prefill}:{mac}"
        filled = self._fill(content, {LATE: {"key": forged, "unit_cost": 1}})
        message = self._assert_refused(settlement, filled, "hidden key of this row")
        self.assertIn(f"Sheet Costs, row {late['row']}, column A (Key)", message)

    def test_bad_cells(self):
        settlement = self._synced()
        content = self._download(settlement)
        row = self._rows(content)[LATE]["row"]
        cases = [
            (-2.5, r"cannot be negative \(-2.5\)"),
            ("about 3 dollars", r'"about 3 dollars" is text, not a number'),
            ("=2*3", r"a formula \(=2\*3\) is not accepted"),
        ]
        for value, pattern in cases:
            with self.subTest(value=value):
                filled = self._fill(content, {LATE: {"unit_cost": value}})
                message = self._assert_refused(settlement, filled, pattern)
                self.assertIn(f"Sheet Costs, row {row}, column O (Unit Cost)", message)

    def test_duplicate_rows(self):
        settlement = self._synced()
        content = self._download(settlement)
        rows = self._rows(content)
        first, second = sorted(rows.values(), key=lambda v: v["row"])[:2]
        filled = self._fill(
            content,
            {
                self._key(second): {"key": first["key"]},
                self._key(first): {"unit_cost": 1},
            },
        )
        self._assert_refused(
            settlement,
            filled,
            f"row {second['row']}.*same cost line as row {first['row']}",
        )

    def test_one_bad_row_saves_nothing(self):
        settlement = self._synced()
        content = self._download(settlement)
        keys = list(self._rows(content))
        filled = self._fill(
            content, {keys[0]: {"unit_cost": 3.0}, keys[1]: {"unit_cost": -1}}
        )
        self._assert_refused(settlement, filled, "1 problem")

    def test_thousands_of_errors(self):
        settlement = self._make_settlement(self.store_a, "WB-MANY")
        self._missing_lines(settlement, 3000)
        content = self._download(settlement)
        filled = self._fill(
            content, {key: {"unit_cost": "n/a"} for key in self._rows(content)}
        )
        message = self._assert_refused(settlement, filled, "3000 problem")
        listed = [line for line in message.splitlines() if line.startswith("Sheet ")]
        self.assertEqual(len(listed), MAX_LISTED_ERRORS, msg="the first 50 listed")
        self.assertIn(f"Sheet Costs, row {FIRST}, column O (Unit Cost)", listed[0])
        self.assertIn("... and 2950 more problem(s), 3000 in all.", message)

    # -- access and companies --

    def test_readonly_user_downloads(self):
        settlement = self._synced()
        rows = self._rows(self._download(settlement, user=self.readonly))
        self.assertEqual(len(rows), 3)

    def test_readonly_user_cannot_upload(self):
        settlement = self._synced()
        content = self._download(settlement, user=self.readonly)
        with self.assertRaises(AccessError):
            self._upload(content, user=self.readonly)

    def test_company_isolation(self):
        settlement = self._synced()
        with self.assertRaises(AccessError):
            self._download(settlement, user=self.bookkeeper_b)
        content = self._download(settlement)
        filled = self._fill(content, {LATE: {"unit_cost": 2}})
        with self.assertRaisesRegex(AccessError, "company you do not work in"):
            self._upload(filled, user=self.bookkeeper_b)
        self.assertEqual(settlement.missing_count, 3)

    def test_write_access_checked_in_one_query(self):
        """The record rules of a large save are checked by the database, with
        what check_access would find."""
        settlement = self._synced()
        lines = settlement.cost_line_ids
        CostLine = self.env["goflow.cost.line"]
        own = CostLine.with_user(self.bookkeeper)
        other = CostLine.with_user(self.bookkeeper_b)
        self.assertFalse(own._goflow_forbidden(lines.ids))
        self.assertEqual(other._goflow_forbidden(lines.ids), lines)
        self.assertEqual(
            lines.with_user(self.bookkeeper_b)._filtered_access("write"),
            CostLine.browse(),
        )
        gone = self._missing_lines(settlement, 1)
        gone_id = gone.id
        gone.unlink()
        self.assertEqual(
            other._goflow_forbidden([*lines.ids, gone_id]),
            lines,
            msg="a line that no longer exists is not forbidden",
        )
        with self.assertRaises(AccessError):
            other._goflow_check_write(lines.ids)
        with self.assertRaises(AccessError):
            CostLine.with_user(self.readonly)._goflow_forbidden(lines.ids)
        line = lines.filtered(lambda line: line.state == "missing")[:1]
        with self.assertRaises(AccessError):
            other._goflow_save_costs({line.id: (Decimal("2"), "manual")})
        self.assertEqual(line.state, "missing")

    def test_another_users_download_wizard(self):
        settlement = self._synced()
        wizard = (
            self.env[DOWNLOAD]
            .with_user(self.bookkeeper)
            .with_context(active_model=settlement._name, active_ids=settlement.ids)
            .create({})
        )
        with self.assertRaises(AccessError):
            self.env["ir.actions.report"].with_user(self.manager)._render(
                REPORT, wizard.ids
            )

    def test_form_buttons_and_list_actions(self):
        arch = (
            self.env["connectbooks.settlement"]
            .with_user(self.bookkeeper)
            .get_view(view_type="form")["arch"]
        )
        for xmlid in (
            "goflow_cost_download_wizard_action_settlement",
            "goflow_cost_upload_wizard_action_settlement",
        ):
            action = self.env.ref(f"connectbooks_goflow.{xmlid}")
            self.assertIn(f'name="{action.id}"', arch, msg=xmlid)
        for xmlid in (
            "goflow_cost_download_wizard_action_cost_line",
            "goflow_cost_upload_wizard_action_cost_line",
        ):
            action = self.env.ref(f"connectbooks_goflow.{xmlid}")
            self.assertEqual(action.binding_model_id.model, "goflow.cost.line")
        readonly_arch = (
            self.env["connectbooks.settlement"]
            .with_user(self.readonly)
            .get_view(view_type="form")["arch"]
        )
        self.assertIn("Download Costs (Excel)", readonly_arch)
        self.assertNotIn("Upload Costs (Excel)", readonly_arch)
        self.assertEqual(
            [c.key for c in COLUMNS][-2:],
            ["unit_cost", "use_prefill"],
            msg="the columns a person types in come last",
        )


@tagged("post_install", "-at_install")
class TestCostWorkbookRpc(HttpCase, CostWorkbookCase):
    """What a read-only user can do by calling JSON-RPC directly."""

    @mute_logger("odoo.http")
    def _call_kw(self, model, method, args, kwargs=None):
        return self.make_jsonrpc_request(
            "/web/dataset/call_kw",
            {"model": model, "method": method, "args": args, "kwargs": kwargs or {}},
        )

    def test_readonly_user_over_rpc(self):
        settlement = self._synced()
        content = self._download(settlement)
        filled = self._fill(content, {LATE: {"unit_cost": 2}})
        self.authenticate("cbg_readonly", "cbg_readonly")
        forged = {"context": {"active_model": settlement._name, "uid": 1, "su": True}}
        wizard_id = self._call_kw(
            DOWNLOAD,
            "create",
            [{}],
            {
                "context": {
                    "active_model": settlement._name,
                    "active_ids": settlement.ids,
                }
            },
        )
        action = self._call_kw(DOWNLOAD, "action_download", [wizard_id])
        self.assertEqual(action["type"], "ir.actions.report", msg="may download")
        with self.assertRaises(JsonRpcException, msg="no upload wizard for them"):
            self._call_kw(
                UPLOAD,
                "create",
                [{"file": base64.b64encode(filled).decode(), "filename": "c.xlsx"}],
                forged,
            )
        upload = (
            self.env[UPLOAD]
            .with_user(self.bookkeeper)
            .create({"file": base64.b64encode(filled), "filename": "c.xlsx"})
        )
        with self.assertRaises(JsonRpcException, msg="nor someone else's"):
            self._call_kw(UPLOAD, "action_upload", [upload.ids], forged)
        with self.assertRaises(JsonRpcException, msg="private methods are not RPC"):
            self._call_kw(
                "goflow.cost.line",
                "_goflow_save_costs",
                [{str(settlement.cost_line_ids[0].id): ["2", "manual"]}],
            )
        settlement.invalidate_recordset()
        self.assertEqual(settlement.missing_count, 3, msg="nothing written")
