from odoo import fields, models
from odoo.tools import SQL


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
            self.env["goflow.cost.line"].flush_model(["cogs_move_line_id"])
            self.env.cr.execute(
                SQL(
                    """
                    SELECT aml.move_id, COUNT(DISTINCT link.cost_line_id)
                      FROM (
                            SELECT id AS cost_line_id, cogs_move_line_id AS item
                              FROM goflow_cost_line
                             WHERE cogs_move_line_id IS NOT NULL
                            UNION ALL
                            SELECT cost_line_id, move_line_id
                              FROM goflow_cost_line_trueup_rel
                           ) link
                      JOIN account_move_line aml ON aml.id = link.item
                     WHERE aml.move_id = ANY(%s)
                     GROUP BY aml.move_id
                    """,
                    self.ids,
                )
            )
            counts = dict(self.env.cr.fetchall())
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
