import base64
import binascii

from odoo import fields, models
from odoo.exceptions import AccessError, UserError

from ..core.cost_workbook import (
    FILE_NOT_COSTS,
    FILE_NOT_XLSX,
    FILE_OTHER_DATABASE,
    FILE_TOO_LARGE,
    FILE_UNREADABLE,
    FILE_XLS,
    FILE_XLSM,
    ROW_BAD_FLAG,
    ROW_BAD_KEY,
    ROW_DUPLICATE,
    ROW_FORMULA,
    ROW_NEGATIVE,
    ROW_NO_KEY,
    ROW_NO_PREFILL,
    ROW_NOT_A_NUMBER,
    ROW_TEXT,
    ROW_TOO_LARGE,
    WorkbookError,
    read_workbook,
)
from ..core.costing import RESOLVE_SET, resolve_decision
from ..core.vocabulary import SETTLEMENT_DRAFT, SETTLEMENT_POSTED, STATE_MISSING

# Skipped rows named in the result; beyond, only counted.
SAMPLE_SIZE = 10


class GoflowCostUploadWizard(models.TransientModel):
    """Upload Costs (Excel): save the costs typed in a workbook made by
    Download Costs (Excel), with the resolve wizard's rules, all or nothing
    (docs/architecture.md, "The costs workbook")."""

    _name = "goflow.cost.upload.wizard"
    _description = "Upload Costs (Excel)"

    file = fields.Binary(string="Workbook", required=True, attachment=False)
    filename = fields.Char()

    def action_upload(self):
        """Read the workbook, refuse it whole when one row is wrong, else
        save its costs (one statement) and tell each settlement."""
        self.ensure_one()
        CostLine = self.env["goflow.cost.line"]
        # A user who may only read cost lines is refused before anything is read.
        CostLine.check_access("write")
        result = self._read()
        if result.error_count:
            raise UserError(self._errors_text(result))
        targets = CostLine._resolve_targets([row.line_id for row in result.rows])
        if CostLine._goflow_forbidden(targets, "write"):
            raise AccessError(
                self.env._(
                    "%(file)s holds cost lines of a company you do not work "
                    "in; nothing was saved.",
                    file=self._name_of_file(),
                )
            )
        plan = {}
        skipped = []
        # the same cost typed on many lines is decided once
        decisions = {}
        for row in result.rows:
            target = targets.get(row.line_id)
            if target is None:
                skipped.append((row.row, self.env._("the line no longer exists")))
                continue
            state, settlement_state = target[5], target[6]
            if settlement_state == SETTLEMENT_POSTED:
                skipped.append((row.row, self.env._("its settlement is posted")))
                continue
            if settlement_state != SETTLEMENT_DRAFT:
                skipped.append((row.row, self.env._("its settlement is cancelled")))
                continue
            if state != STATE_MISSING:
                skipped.append((row.row, self.env._("the line has a cost now")))
                continue
            cost = row.prefill if row.use_prefill else row.unit_cost
            decision = decisions.get((row.use_prefill, cost))
            if decision is None:
                if row.use_prefill:
                    decision = resolve_decision(cost, cost, False)
                else:
                    # a 0 typed in a cell is a 0 meant (the wizard's
                    # confirmation is against a blank shown as 0.00)
                    decision = resolve_decision(cost, None, True)
                decisions[row.use_prefill, cost] = decision
            if decision.action == RESOLVE_SET:
                plan[row.line_id] = (decision.unit_cost, decision.source)
        origin = self.env._(
            "Costs uploaded from the workbook %(file)s.", file=self._name_of_file()
        )
        written = set(CostLine._goflow_save_costs(plan, origin=origin, targets=targets))
        rows_by_line = {row.line_id: row.row for row in result.rows}
        skipped += [
            (rows_by_line[line_id], self.env._("the line has a cost now"))
            for line_id in plan
            if line_id not in written
        ]
        return self._notification(len(written), sorted(skipped))

    # -- reading --

    def _read(self):
        try:
            data = base64.b64decode(self.file or b"", validate=True)
        except (binascii.Error, ValueError):
            data = b""
        CostLine = self.env["goflow.cost.line"]
        yes, no = self.env._("Yes"), self.env._("No")
        try:
            return read_workbook(
                data,
                CostLine._goflow_workbook_secret(),
                {"yes_labels": [yes], "no_labels": [no]},
            )
        except WorkbookError as error:
            raise UserError(self._file_error_text(error)) from None

    def _name_of_file(self):
        return self.filename or self.env._("the file")

    def _file_error_text(self, error):
        name = self._name_of_file()
        _ = self.env._
        texts = {
            FILE_XLS: _(
                "%(file)s is an Excel 97-2003 workbook (.xls). Upload the .xlsx "
                "workbook made by Download Costs (Excel).",
                file=name,
            ),
            FILE_XLSM: _(
                "%(file)s is a macro-enabled workbook (.xlsm); macros are not "
                "accepted. Save it as an Excel Workbook (.xlsx) and upload that.",
                file=name,
            ),
            FILE_NOT_XLSX: _(
                "%(file)s is not an Excel workbook (.xlsx). Upload the workbook "
                "made by Download Costs (Excel).",
                file=name,
            ),
            FILE_UNREADABLE: _(
                "%(file)s cannot be read as an Excel workbook (.xlsx): it is "
                "damaged or not a workbook.",
                file=name,
            ),
            FILE_TOO_LARGE: _(
                "%(file)s is too large to be a costs workbook.", file=name
            ),
            FILE_NOT_COSTS: _(
                "%(file)s is not a costs workbook: download one with Download "
                "Costs (Excel), fill in Unit Cost and upload it.",
                file=name,
            ),
            FILE_OTHER_DATABASE: _(
                "%(file)s was downloaded from another database. Download the "
                "costs from this one and fill them in again.",
                file=name,
            ),
        }
        return texts.get(error.code) or texts[FILE_UNREADABLE]

    def _errors_text(self, result):
        """The refusal: every problem with its sheet, row and column (the
        first ones), then how many in all."""
        _ = self.env._
        columns = {
            ROW_BAD_KEY: _("Key"),
            ROW_NO_KEY: _("Key"),
            ROW_DUPLICATE: _("Key"),
            ROW_BAD_FLAG: _("Use Pre-filled"),
            ROW_NO_PREFILL: _("Use Pre-filled"),
        }
        lines = [
            _(
                "Nothing was saved: %(file)s has %(count)s problem(s).",
                file=self._name_of_file(),
                count=result.error_count,
            )
        ]
        for error in result.errors:
            lines.append(
                _(
                    "Sheet %(sheet)s, row %(row)s, column %(column)s "
                    "(%(header)s): %(problem)s",
                    sheet=error.sheet,
                    row=error.row,
                    column=error.column,
                    header=columns.get(error.code, _("Unit Cost")),
                    problem=self._problem_text(error),
                )
            )
        more = result.error_count - len(result.errors)
        if more > 0:
            lines.append(
                _(
                    "... and %(more)s more problem(s), %(count)s in all.",
                    more=more,
                    count=result.error_count,
                )
            )
        return "\n".join(lines)

    def _problem_text(self, error):
        _ = self.env._
        params = error.params
        code = error.code
        if code == ROW_BAD_KEY:
            return _(
                "the hidden key of this row was changed or comes from another "
                "database; download the workbook again"
            )
        if code == ROW_NO_KEY:
            return _("a row added by hand; only the downloaded rows can be uploaded")
        if code == ROW_DUPLICATE:
            return _("the same cost line as row %(first)s", first=params["first"])
        if code == ROW_FORMULA:
            return _(
                "a formula (%(formula)s) is not accepted; type the number",
                formula=params["formula"],
            )
        if code == ROW_TEXT:
            return _('"%(text)s" is text, not a number', text=params["text"])
        if code == ROW_NEGATIVE:
            return _(
                "a unit cost cannot be negative (%(value)s)", value=params["value"]
            )
        if code == ROW_TOO_LARGE:
            return _("%(value)s is too large for a unit cost", value=params["value"])
        if code == ROW_BAD_FLAG:
            return _('Yes or No, not "%(text)s"', text=params["text"])
        if code == ROW_NO_PREFILL:
            return _("this line has no pre-filled cost; type its cost instead")
        if code == ROW_NOT_A_NUMBER:
            return _("%(value)s is not a number", value=params.get("value", ""))
        return code

    # -- result --

    def _notification(self, saved, skipped):
        _ = self.env._
        parts = [_("%(count)s cost(s) saved.", count=saved)]
        if skipped:
            named = ", ".join(
                _("row %(row)s (%(why)s)", row=row, why=why)
                for row, why in skipped[:SAMPLE_SIZE]
            )
            if len(skipped) > SAMPLE_SIZE:
                named += " " + _("and %(count)s more", count=len(skipped) - SAMPLE_SIZE)
            parts.append(
                _(
                    "%(count)s row(s) skipped: %(rows)s.",
                    count=len(skipped),
                    rows=named,
                )
            )
        if not saved and not skipped:
            parts = [_("Nothing to save: no row has a Unit Cost or Use Pre-filled.")]
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": _("Upload Costs (Excel)"),
                "message": " ".join(parts),
                "type": "success" if saved and not skipped else "warning",
                "sticky": bool(skipped),
                "next": {"type": "ir.actions.act_window_close"},
            },
        }
