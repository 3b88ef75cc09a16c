from odoo import fields, models


class AccountMoveLine(models.Model):
    _inherit = "account.move.line"

    goflow_cost_line_ids = fields.One2many(
        "goflow.cost.line",
        "cogs_move_line_id",
        string="Goflow Cost Lines",
        readonly=True,
    )
