from odoo import fields, models


class AccountMoveLine(models.Model):
    _inherit = "account.move.line"

    goflow_cost_line_ids = fields.One2many(
        "goflow.cost.line",
        "cogs_move_line_id",
        string="Goflow Cost Lines",
        readonly=True,
    )
    goflow_trueup_cost_line_ids = fields.Many2many(
        "goflow.cost.line",
        "goflow_cost_line_trueup_rel",
        "move_line_id",
        "cost_line_id",
        string="Goflow Cost Lines Trued Up",
        readonly=True,
    )
