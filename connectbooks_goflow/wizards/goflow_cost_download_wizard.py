from odoo import Command, api, fields, models
from odoo.exceptions import UserError

from ..core.vocabulary import SETTLEMENT_DRAFT

SCOPE_MISSING = "missing"
SCOPE_EVERY = "every"
REPORT = "connectbooks_goflow.action_report_cost_workbook_xlsx"


class GoflowCostDownloadWizard(models.TransientModel):
    """Download Costs (Excel): the missing costs of the settlements or cost
    lines it is opened on, as a workbook to fill in and upload
    (``report/cost_workbook_xlsx.py`` writes it)."""

    _name = "goflow.cost.download.wizard"
    _description = "Download Costs (Excel)"

    settlement_ids = fields.Many2many(
        "connectbooks.settlement",
        "goflow_cost_download_wizard_settlement_rel",
        "wizard_id",
        "settlement_id",
        string="Settlements",
        readonly=True,
    )
    cost_line_ids = fields.Many2many(
        "goflow.cost.line",
        "goflow_cost_download_wizard_cost_line_rel",
        "wizard_id",
        "cost_line_id",
        string="Cost Lines",
        readonly=True,
    )
    scope = fields.Selection(
        [
            (SCOPE_MISSING, "Missing costs"),
            (SCOPE_EVERY, "Every line of the draft settlements"),
        ],
        string="Lines",
        required=True,
        default=SCOPE_MISSING,
        help="Every line: the costed lines are listed too, with their cost, "
        "for reference; only the missing ones can be filled in.",
    )
    report_name = fields.Char(compute="_compute_report_name")

    @api.depends("settlement_ids")
    def _compute_report_name(self):
        for wizard in self:
            settlements = wizard.settlement_ids
            if len(settlements) == 1:
                wizard.report_name = self.env._(
                    "Costs %(store)s %(settlement)s",
                    store=settlements.store_id.name,
                    settlement=settlements.settlement_ref,
                )
            else:
                wizard.report_name = self.env._(
                    "Costs %(count)s settlements", count=len(settlements)
                )

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        context = self.env.context
        model = context.get("active_model")
        ids = context.get("active_ids") or (
            [context["active_id"]] if context.get("active_id") else []
        )
        if model == "connectbooks.settlement":
            settlements = self.env[model].browse(ids)
            settlements.check_access("read")
            values["settlement_ids"] = [Command.set(settlements.ids)]
        elif model == "goflow.cost.line":
            lines = self.env[model].browse(ids)
            lines.check_access("read")
            values["cost_line_ids"] = [Command.set(lines.ids)]
            values["settlement_ids"] = [Command.set(lines.settlement_id.ids)]
        return values

    def action_download(self):
        """The workbook, through report_xlsx; nothing to list fails here,
        before the download starts."""
        self.ensure_one()
        if not self._workbook_raw_rows(limit=1):
            raise UserError(
                self.env._(
                    "Nothing to download: the selected lines all have a cost, "
                    "or their settlements are no longer drafts."
                )
            )
        # The dialog stays open (report_xlsx's handler does not close it
        # cleanly): Close is one click.
        return self.env.ref(REPORT).report_action(self, config=False)

    def _workbook_raw_rows(self, limit=None):
        """The cost lines the workbook lists (see
        :meth:`goflow.cost.line._cost_workbook_rows`), after checking that the
        user may read them: the SQL behind it does not."""
        self.ensure_one()
        CostLine = self.env["goflow.cost.line"]
        settlements = self.settlement_ids.filtered(
            lambda s: s.state == SETTLEMENT_DRAFT
        )
        settlements.check_access("read")
        CostLine.check_access("read")
        if self.scope == SCOPE_MISSING and self.cost_line_ids:
            self.cost_line_ids.check_access("read")
            return CostLine._cost_workbook_rows(
                line_ids=self.cost_line_ids.ids, limit=limit
            )
        return CostLine._cost_workbook_rows(
            settlement_ids=settlements.ids,
            every=self.scope == SCOPE_EVERY,
            limit=limit,
        )
