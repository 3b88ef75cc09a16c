from odoo import api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL

from ..core.vocabulary import (
    AVERAGE_SOURCES,
    COST_KINDS,
    COST_SOURCES,
    COST_STATES,
    MISSING_REASONS,
    SETTLEMENT_DRAFT,
    STATE_COSTED,
    STATE_MISSING,
)


class GoflowCostLine(models.Model):
    """The cost of one order, refund or adjustment of one SKU in a settlement.

    This model owns its table: every SQL statement that reads or writes
    ``goflow_cost_line`` in bulk is one of its methods, below or in the
    ``goflow_cost_line_*.py`` files beside this one (import, sync, entries,
    pre-fill, resolve), and each write invalidates what it changed
    (:meth:`_written_by_sql`).
    """

    _name = "goflow.cost.line"
    _description = "Goflow Cost Line"
    _order = "settlement_id, posted_date, order_ref, sku, id"
    _rec_name = "order_ref"

    settlement_id = fields.Many2one(
        # indexed by the unique key index below, which starts with it
        "connectbooks.settlement",
        required=True,
        ondelete="cascade",
    )
    # Not stored: each stored many2one costs every imported cost line a
    # foreign key check (a sixth of a large import). Both still search, group
    # and sort through the settlement; the record rule goes through it too.
    store_id = fields.Many2one(related="settlement_id.store_id")
    company_id = fields.Many2one(related="settlement_id.company_id")
    currency_id = fields.Many2one(related="settlement_id.currency_id")
    settlement_state = fields.Selection(
        related="settlement_id.state", string="Settlement Status"
    )
    kind = fields.Selection(list(COST_KINDS), required=True)
    order_ref = fields.Char(string="Order ID")
    adjustment_ref = fields.Char(string="Adjustment ID")
    # Indexed for the pre-fill averages only where they read, costed lines
    # (see init): an import then writes no entry for its missing lines.
    sku = fields.Char(string="SKU")
    product_id = fields.Many2one("product.product")
    posted_date = fields.Date()
    quantity = fields.Float(digits="Product Unit of Measure", required=True)
    sign = fields.Integer(
        default=1,
        required=True,
        help="+1: goods left stock (COGS debit); -1: goods came back (refunds, "
        "reversed reimbursements).",
    )
    unit_cost = fields.Float(digits="Goflow Unit Cost")
    total_cost = fields.Monetary(
        compute="_compute_total_cost",
        store=True,
        help="Quantity times unit cost, rounded in the settlement currency; "
        "negative for refunds (goods back to stock).",
    )
    state = fields.Selection(
        list(COST_STATES),
        string="Status",
        required=True,
        default=STATE_MISSING,
        index=True,
    )
    source = fields.Selection(list(COST_SOURCES))
    missing_reason = fields.Selection(list(MISSING_REASONS))
    goflow_order_ref = fields.Char(
        string="Goflow Order ID", help="Goflow order id(s); split orders list several."
    )
    synced_at = fields.Datetime(string="Synced At")
    resolved_by_id = fields.Many2one("res.users", string="Resolved By")
    resolved_at = fields.Datetime()
    cogs_move_line_id = fields.Many2one(
        "account.move.line", string="COGS Journal Item", index="btree_not_null"
    )
    trueup_move_line_ids = fields.Many2many(
        "account.move.line",
        "goflow_cost_line_trueup_rel",
        "cost_line_id",
        "move_line_id",
        string="True-up Journal Items",
        readonly=True,
        copy=False,
    )
    posted_total = fields.Monetary(
        help="Cost booked for this line by the COGS entry and its true-ups."
    )

    _sql_constraints = [
        (
            "quantity_positive",
            "CHECK(quantity > 0)",
            "A cost line needs a positive quantity.",
        ),
        ("sign_valid", "CHECK(sign IN (1, -1))", "The sign is +1 or -1."),
        (
            "unit_cost_positive",
            "CHECK(unit_cost IS NULL OR unit_cost >= 0)",
            "A unit cost cannot be negative.",
        ),
    ]

    def init(self):
        # One cost line per (settlement, kind, order, adjustment, SKU); the
        # optional parts are NULL-able, hence an expression index.
        self.env.cr.execute(
            SQL(
                """
                CREATE UNIQUE INDEX IF NOT EXISTS goflow_cost_line_key_uniq
                    ON goflow_cost_line (
                        settlement_id, kind, COALESCE(order_ref, ''),
                        COALESCE(adjustment_ref, ''), COALESCE(sku, '')
                    )
                """
            )
        )
        self.env.cr.execute(
            SQL(
                """
                CREATE INDEX IF NOT EXISTS goflow_cost_line_costed_sku_index
                    ON goflow_cost_line (sku) WHERE state = %s
                """,
                STATE_COSTED,
            )
        )

    @api.depends("quantity", "unit_cost", "sign", "currency_id")
    def _compute_total_cost(self):
        for line in self:
            line.total_cost = self._rounded_total(
                line.currency_id, line.quantity, line.unit_cost, line.sign
            )

    def write(self, vals):
        posted = self.settlement_id.filtered(lambda s: s.state == "posted")
        if posted and "unit_cost" in vals:
            if not self.env.user.has_group("account.group_account_manager"):
                raise AccessError(
                    self.env._(
                        "Only an accounting manager can change the cost of a "
                        "posted settlement (%(name)s).",
                        name=posted[0].display_name,
                    )
                )
        result = super().write(vals)
        if posted and "unit_cost" in vals:
            # A correction after posting: book the difference (true-up).
            posted._goflow_post_trueups()
        return result

    # -- the one rounding of a line's total --------------------------------

    @api.model
    def _rounded_total(self, currency, quantity, unit_cost, sign=1):
        """``sign * quantity * unit_cost`` rounded by the currency: the one
        way a cost line's total is computed, by the ORM or before an SQL
        write."""
        return sign * currency.round(float(quantity) * float(unit_cost or 0.0))

    # -- bulk writes (SQL), each followed by its invalidation ------------------

    @api.model
    def _written_by_sql(self, settlements, fnames):
        """After an SQL write of these fields of ``settlements``' cost lines:
        drop them from the cache and recompute the settlements' cost status.

        Cheaper than ``modified()`` on every line of a 150,000-line
        settlement; the only stored fields depending on cost lines are the
        settlement's (``_compute_cost_status``). ``total_cost`` is written
        by the same SQL, never recomputed from a stale cache.
        """
        self.invalidate_model(fnames)
        if "cogs_move_line_id" in fnames:
            self.env["account.move.line"].invalidate_model(["goflow_cost_line_ids"])
        if "trueup_move_line_ids" in fnames:
            self.env["account.move.line"].invalidate_model(
                ["goflow_trueup_cost_line_ids"]
            )
        Settlement = self.env["connectbooks.settlement"]
        for name in ("cost_status", "missing_count", "cost_total"):
            self.env.add_to_compute(Settlement._fields[name], settlements)
        # what is computed from them without being stored, already read in
        # this transaction, is read again
        settlements.invalidate_recordset(["export_status", "unmapped_count"])

    @api.model
    def _write_resolved(self, rows):
        """Give missing lines of draft settlements the cost a person chose,
        in one statement; a line that got a cost meanwhile (a sync, another
        person) or whose settlement was posted is left alone.

        :param rows: ``[(id, unit cost, total cost, source)]``
        :return: ids of the lines written
        """
        if not rows:
            return []
        self.flush_model()
        self.env["connectbooks.settlement"].flush_model(["state"])
        now = fields.Datetime.now()
        # one SQL object for the whole list: an SQL per row costs seconds on
        # 50,000 rows
        values = SQL(
            ", ".join(("(%s, %s::numeric, %s::numeric, %s)",) * len(rows)),
            *(value for row in rows for value in row),
        )
        self.env.cr.execute(
            SQL(
                """
                UPDATE goflow_cost_line c
                   SET unit_cost = v.unit_cost,
                       total_cost = v.total_cost,
                       source = v.source,
                       state = %(costed)s,
                       missing_reason = NULL,
                       resolved_by_id = %(uid)s,
                       resolved_at = %(now)s,
                       write_uid = %(uid)s,
                       write_date = %(now)s
                  FROM (VALUES %(values)s) AS v(id, unit_cost, total_cost, source),
                       connectbooks_settlement s
                 WHERE c.id = v.id
                   AND s.id = c.settlement_id
                   AND s.state = %(draft)s
                   AND c.state = %(missing)s
                RETURNING c.id, c.settlement_id
                """,
                uid=self.env.uid,
                now=now,
                values=values,
                costed=STATE_COSTED,
                missing=STATE_MISSING,
                draft=SETTLEMENT_DRAFT,
            )
        )
        result = self.env.cr.fetchall()
        written = [row[0] for row in result]
        self._written_by_sql(
            self.env["connectbooks.settlement"].browse(
                sorted({row[1] for row in result})
            ),
            [
                "unit_cost",
                "total_cost",
                "source",
                "state",
                "missing_reason",
                "resolved_by_id",
                "resolved_at",
                "write_uid",
                "write_date",
            ],
        )
        return written

    # -- bulk reads (SQL) for the other models ----------------------------------

    @api.model
    def _known_costs(self, skus, company_ids, since):
        """Costs known in Odoo for the pre-fill's average, summed exactly.

        :return: ``[(company id, currency id, SKU, Σ quantity,
            Σ quantity × unit cost, count)]``
        """
        self.flush_model()
        self.env["connectbooks.settlement"].flush_model(["company_id", "currency_id"])
        self.env.cr.execute(
            SQL(
                """
                SELECT s.company_id, s.currency_id, c.sku, SUM(c.quantity),
                       SUM(c.quantity * c.unit_cost), COUNT(*)
                  FROM goflow_cost_line c
                  JOIN connectbooks_settlement s ON s.id = c.settlement_id
                 WHERE c.sku = ANY(%s)
                   AND s.company_id = ANY(%s)
                   AND c.state = %s
                   AND c.source IN %s
                   AND c.unit_cost > 0
                   AND c.posted_date >= %s
                 GROUP BY s.company_id, s.currency_id, c.sku
                """,
                skus,
                company_ids,
                STATE_COSTED,
                AVERAGE_SOURCES,
                since,
            )
        )
        return self.env.cr.fetchall()

    @api.model
    def _count_by_move(self, move_ids):
        """Cost lines carried by each entry, through their COGS item or a
        true-up item: ``{move id: count}``."""
        self.flush_model(["cogs_move_line_id"])
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
                move_ids,
            )
        )
        return dict(self.env.cr.fetchall())

    @api.model
    def _workbook_summary(self, settlement):
        """``(ids of the products the lines point to, Σ booked)``."""
        self.flush_model()
        self.env.cr.execute(
            SQL(
                """
                SELECT ARRAY_AGG(DISTINCT product_id)
                           FILTER (WHERE product_id IS NOT NULL),
                       COALESCE(SUM(posted_total), 0)
                  FROM goflow_cost_line
                 WHERE settlement_id = %s
                """,
                settlement.id,
            )
        )
        product_ids, booked = self.env.cr.fetchone()
        return product_ids or [], booked

    @api.model
    def _workbook_rows(self, settlement, batch_size):
        """The workbook's rows of ``settlement``, streamed ``batch_size`` at a
        time: ``(posted date, kind, order, adjustment, SKU, product id,
        signed quantity, unit cost, total, source, state, synced at)``."""
        self.flush_model()
        cr = self.env.cr
        cr.execute(
            SQL(
                """
                SELECT posted_date, kind, order_ref, adjustment_ref, sku,
                       product_id, quantity * sign, unit_cost, total_cost,
                       source, state, synced_at
                  FROM goflow_cost_line
                 WHERE settlement_id = %s
                 ORDER BY posted_date, order_ref, sku, id
                """,
                settlement.id,
            )
        )
        while True:
            rows = cr.fetchmany(batch_size)
            if not rows:
                return
            yield from rows

    @api.model
    def _resolve_targets(self, ids):
        """What saving a cost needs to know of these lines, in one query:
        ``{id: (settlement id, currency id, SKU, quantity, sign, state,
        settlement state)}``; lines that no longer exist are absent."""
        if not ids:
            return {}
        self.flush_model()
        self.env["connectbooks.settlement"].flush_model(["state", "currency_id"])
        self.env.cr.execute(
            SQL(
                """
                SELECT c.id, c.settlement_id, s.currency_id, c.sku, c.quantity,
                       c.sign, c.state, s.state
                  FROM goflow_cost_line c
                  JOIN connectbooks_settlement s ON s.id = c.settlement_id
                 WHERE c.id = ANY(%s)
                """,
                list(ids),
            )
        )
        return {row[0]: row[1:] for row in self.env.cr.fetchall()}

    @api.model
    def _cost_workbook_rows(
        self, line_ids=None, settlement_ids=None, every=False, limit=None
    ):
        """The cost lines of draft settlements a costs workbook lists: the
        missing ones among ``line_ids`` or of ``settlement_ids``, or
        (``every``) every line of ``settlement_ids``.

        :return: ``[(id, settlement id, company id, currency id, Goflow
            connection id, posted date, kind, order, adjustment, SKU,
            product id, quantity, missing reason, unit cost, source, state)]``
            ordered as the workbook lists them; the unit cost is None for a
            missing line
        """
        if line_ids is not None:
            where = SQL("c.id = ANY(%s)", list(line_ids))
        else:
            where = SQL("c.settlement_id = ANY(%s)", list(settlement_ids or ()))
        if not every:
            where = SQL("%s AND c.state = %s", where, STATE_MISSING)
        self.flush_model()
        self.env["connectbooks.settlement"].flush_model()
        self.env["connectbooks.store"].flush_model(["goflow_connection_id"])
        self.env.cr.execute(
            SQL(
                """
                SELECT c.id, c.settlement_id, s.company_id, s.currency_id,
                       st.goflow_connection_id, c.posted_date, c.kind,
                       c.order_ref, c.adjustment_ref, c.sku, c.product_id,
                       c.quantity,
                       c.missing_reason,
                       CASE WHEN c.state = %(missing)s THEN NULL
                            ELSE c.unit_cost END,
                       c.source, c.state
                  FROM goflow_cost_line c
                  JOIN connectbooks_settlement s ON s.id = c.settlement_id
                  JOIN connectbooks_store st ON st.id = s.store_id
                 WHERE %(where)s AND s.state = %(draft)s
                 ORDER BY s.id, c.posted_date, c.order_ref, c.sku, c.id
                 LIMIT %(limit)s
                """,
                limit=limit,
                where=where,
                missing=STATE_MISSING,
                draft=SETTLEMENT_DRAFT,
            )
        )
        return self.env.cr.fetchall()

    @api.model
    def _pnl_query(self, bucket):
        """The cost lines' part of the P&L view: one row per line, shaped
        like the settlement lines' part (see ``connectbooks.settlement.pnl``).

        :param bucket: the P&L bucket the costs go in
        """
        return SQL(
            """
            SELECT c.settlement_id,
                   c.kind,
                   COALESCE(c.order_ref, ''),
                   COALESCE(c.sku, ''),
                   NULL,
                   c.id,
                   c.posted_date,
                   c.product_id,
                   (c.quantity * c.sign)::float8,
                   c.total_cost::float8,
                   %s,
                   c.state = %s
              FROM goflow_cost_line c
            """,
            bucket,
            STATE_MISSING,
        )
