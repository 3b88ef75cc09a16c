import io

from odoo import api, fields, models
from odoo.tools import SQL

from ..core.pg_copy import copy_text
from ..core.vocabulary import STATE_MISSING

# The columns an import copies in, in the order of :meth:`_import_values`.
IMPORT_COLUMNS = (
    "settlement_id",
    "kind",
    "order_ref",
    "adjustment_ref",
    "sku",
    "product_id",
    "posted_date",
    "quantity",
    "sign",
    "state",
    "missing_reason",
    "total_cost",
    "posted_total",
    "create_date",
    "write_date",
)
# A cost line by its unique key (goflow_cost_line_key_uniq).
_KEY = (
    "settlement_id = %s AND kind = %s AND COALESCE(order_ref, '') = %s "
    "AND COALESCE(adjustment_ref, '') = %s AND COALESCE(sku, '') = %s"
)


# One model, one file per concern (docs/architecture.md, "Layers"): the split
# is deliberate, so the classes are not merged.
class GoflowCostLine(models.Model):
    """The import's writes: new cost lines by ``COPY``, and the few an
    import corrects at its end (docs/architecture.md, "The import's fast path")."""

    _inherit = "goflow.cost.line"  # pylint: disable=consider-merging-classes-inherited

    @api.model
    def _import_copy_statement(self):
        """``COPY`` of new cost lines, rows as :meth:`_import_values` makes."""
        return (
            f"COPY goflow_cost_line ({', '.join(IMPORT_COLUMNS)}) "
            "FROM STDIN WITH (FORMAT text, NULL '')"
        )

    @api.model
    def _import_values(self, settlement, products, missing_reason):
        """A function ``need -> tuple of str`` giving the COPY row (see
        :data:`IMPORT_COLUMNS`) of the missing cost line of a cost need.
        It reads nothing from the database: it runs beside the COPY thread.

        :param products: ``{SKU: product id}``
        :param missing_reason: ``need -> reason key or ""``
        """
        settlement_id = str(settlement.id)
        now = str(fields.Datetime.now())
        get_product = {sku: str(pid) for sku, pid in products.items()}.get

        def values(need):
            return (
                settlement_id,
                need.kind,
                need.order_id,
                need.adjustment_id,
                need.sku,
                get_product(need.sku, ""),
                str(need.posted_date or ""),
                str(need.quantity),
                str(need.sign),
                STATE_MISSING,
                missing_reason(need),
                "0",
                "0",
                now,
                now,
            )

        return values

    @api.model
    def _import_copy(self, values, needs):
        """Copy the cost lines of ``needs`` in now (not through a pipeline)."""
        if needs:
            self.env.cr.copy_expert(
                self._import_copy_statement(), io.StringIO(copy_text(values, needs))
            )

    @api.model
    def _import_correct(self, settlement, changed, gone, missing_reason):
        """Cost lines an import copied early whose item a later row reopened:
        new figures for ``changed`` (cost needs), none left for ``gone``
        (keys ``(kind, order, adjustment, SKU)``)."""
        cr = self.env.cr
        for need in changed:
            cr.execute(
                SQL(
                    "UPDATE goflow_cost_line SET quantity = %s, sign = %s, "
                    "posted_date = %s, missing_reason = %s WHERE %s",
                    need.quantity,
                    need.sign,
                    need.posted_date,
                    missing_reason(need) or None,
                    SQL(_KEY, settlement.id, *need.key),
                )
            )
        for key in gone:
            cr.execute(
                SQL(
                    "DELETE FROM goflow_cost_line WHERE %s",
                    SQL(_KEY, settlement.id, *key),
                )
            )
