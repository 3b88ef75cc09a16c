from odoo import api, models
from odoo.tools import SQL

from ..core.vocabulary import SOURCE_ESTIMATE, STATE_MISSING


# One model, one file per concern (docs/architecture.md, "Layers"): the split
# is deliberate, so the classes are not merged.
class GoflowCostLine(models.Model):
    """The cost lines' side of the journal entries: what a COGS entry or a
    true-up books, and the links between lines and journal items
    (docs/architecture.md, "Journal entries")."""

    _inherit = "goflow.cost.line"  # pylint: disable=consider-merging-classes-inherited

    @api.model
    def _cogs_rows(self, settlement, changed_only=False):
        """The cost lines a COGS entry (or, ``changed_only``, a true-up)
        books, by SKU.

        :return: ``[(id, sku, product id, sign, quantity, total cost, posted
            total, unit cost)]``
        """
        self.flush_model()
        self.env.cr.execute(
            SQL(
                """
                SELECT id, sku, product_id, sign, quantity, total_cost,
                       posted_total, unit_cost
                  FROM goflow_cost_line
                 WHERE settlement_id = %s %s
                 ORDER BY sku, id
                """,
                settlement.id,
                SQL("AND total_cost != posted_total") if changed_only else SQL(),
            )
        )
        return self.env.cr.fetchall()

    @api.model
    def _link_cogs_items(self, settlement, rows):
        """Point cost lines at the COGS journal item that carries them and
        record what was booked for them (the base of later true-ups).

        :param rows: ``[(cost line id, journal item id)]``
        """
        if not rows:
            return
        self.env.cr.execute(
            SQL(
                """
                UPDATE goflow_cost_line c
                   SET cogs_move_line_id = v.item, posted_total = c.total_cost
                  FROM (VALUES %s) AS v(id, item)
                 WHERE c.id = v.id
                """,
                SQL(", ").join(SQL("(%s, %s)", *row) for row in rows),
            )
        )
        self._written_by_sql(settlement, ["cogs_move_line_id", "posted_total"])

    @api.model
    def _link_trueup_items(self, settlement, rows):
        """Link cost lines to the COGS items of their true-up.

        :param rows: ``[(cost line id, journal item id)]``
        """
        if not rows:
            return
        self.env.cr.execute(
            SQL(
                "INSERT INTO goflow_cost_line_trueup_rel (cost_line_id, move_line_id) "
                "VALUES %s ON CONFLICT DO NOTHING",
                SQL(", ").join(SQL("(%s, %s)", *row) for row in rows),
            )
        )
        self._written_by_sql(settlement, ["trueup_move_line_ids"])

    def _mark_booked(self, settlement):
        """What these lines cost now is what the books hold for them."""
        self.env.cr.execute(
            SQL(
                "UPDATE goflow_cost_line SET posted_total = total_cost "
                "WHERE id = ANY(%s)",
                self.ids,
            )
        )
        self._written_by_sql(settlement, ["posted_total"])

    @api.model
    def _unlink_from_entries(self, settlement):
        """``settlement``'s entries are cancelled: no line is booked any more,
        and the estimates that stood in for the posting are missing again."""
        self.flush_model()
        cr = self.env.cr
        cr.execute(
            SQL(
                """
                UPDATE goflow_cost_line
                   SET cogs_move_line_id = NULL, posted_total = 0
                 WHERE settlement_id = %s
                """,
                settlement.id,
            )
        )
        cr.execute(
            SQL(
                """
                UPDATE goflow_cost_line
                   SET state = %s, source = NULL, unit_cost = NULL,
                       total_cost = 0
                 WHERE settlement_id = %s AND source = %s
                """,
                STATE_MISSING,
                settlement.id,
                SOURCE_ESTIMATE,
            )
        )
        self._written_by_sql(
            settlement,
            [
                "cogs_move_line_id",
                "posted_total",
                "state",
                "source",
                "unit_cost",
                "total_cost",
            ],
        )
