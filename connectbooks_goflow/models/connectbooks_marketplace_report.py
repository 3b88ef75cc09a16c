from odoo import fields, models

from ..core.vocabulary import REPORT_STATES


class ConnectbooksMarketplaceReport(models.Model):
    """One settlement report a marketplace listed for a store, and what the
    fetch did with it: the memory that keeps a report from being downloaded
    twice and lets a failed one be tried again."""

    _name = "connectbooks.marketplace.report"
    _description = "Marketplace Settlement Report"
    _order = "created_time desc, id desc"
    _rec_name = "report_ref"

    store_id = fields.Many2one(
        "connectbooks.store", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(
        "res.company", related="store_id.company_id", store=True, index=True
    )
    report_ref = fields.Char(string="Report ID", required=True, readonly=True)
    document_ref = fields.Char(string="Document ID", readonly=True)
    created_time = fields.Datetime(
        readonly=True, help="When the marketplace created the report."
    )
    period_start = fields.Datetime(readonly=True)
    period_end = fields.Datetime(readonly=True)
    settlement_ref = fields.Char(string="Settlement ID", readonly=True)
    settlement_id = fields.Many2one(
        "connectbooks.settlement", ondelete="set null", readonly=True, index=True
    )
    state = fields.Selection(list(REPORT_STATES), required=True, readonly=True)
    message = fields.Text(readonly=True)
    attempt_count = fields.Integer(string="Attempts", readonly=True, default=0)
    last_attempt_at = fields.Datetime(readonly=True)

    _sql_constraints = [
        (
            "report_store_uniq",
            "UNIQUE(store_id, report_ref)",
            "This report is already recorded for this store.",
        ),
    ]
