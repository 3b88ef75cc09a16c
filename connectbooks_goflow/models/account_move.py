from odoo import fields, models


class AccountMove(models.Model):
    _inherit = "account.move"

    goflow_settlement_id = fields.Many2one(
        "connectbooks.settlement",
        string="Marketplace Settlement",
        readonly=True,
        copy=False,
        index="btree_not_null",
        ondelete="restrict",
    )
    goflow_move_kind = fields.Selection(
        [
            ("settlement", "Settlement"),
            ("cogs", "COGS"),
            ("trueup", "COGS True-up"),
        ],
        string="Settlement Entry Kind",
        readonly=True,
        copy=False,
    )
    goflow_cost_line_count = fields.Integer(compute="_compute_goflow_cost_line_count")

    def _compute_goflow_cost_line_count(self):
        """Cost lines carried by the entry: through their COGS item, or
        through a true-up item."""
        counts = {}
        if self.ids:
            counts = self.env["goflow.cost.line"]._count_by_move(self.ids)
        for move in self:
            move.goflow_cost_line_count = counts.get(move.id, 0)

    def action_view_goflow_cost_lines(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "connectbooks_goflow.goflow_cost_line_action"
        )
        action["domain"] = [
            "|",
            ("cogs_move_line_id.move_id", "=", self.id),
            ("trueup_move_line_ids.move_id", "=", self.id),
        ]
        action["context"] = {}
        return action
