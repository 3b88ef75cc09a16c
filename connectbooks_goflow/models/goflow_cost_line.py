import io

from odoo import api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL

from ..core.pg_copy import copy_text
from ..core.vocabulary import (
    AVERAGE_SOURCES,
    COST_KINDS,
    COST_SOURCES,
    COST_STATES,
    MANUAL_SOURCES,
    MISSING_REASONS,
    SETTLEMENT_DRAFT,
    SOURCE_ESTIMATE,
    STATE_COSTED,
    STATE_MISSING,
)

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
# What a sync writes on a line, in the order of the rows of
# :meth:`_sync_stage`.
SYNC_COLUMNS = (
    "unit_cost",
    "total_cost",
    "state",
    "source",
    "missing_reason",
    "goflow_order_ref",
)


class GoflowCostLine(models.Model):
    """The cost of one order, refund or adjustment of one SKU in a settlement.

    This model owns its table: every SQL statement that reads or writes
    ``goflow_cost_line`` in bulk is one of its methods below, and each write
    invalidates what it changed (:meth:`_written_by_sql`).
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

    @api.model
    def _sync_rows(self, settlement, batch_size=20_000):
        """The cost lines of ``settlement`` a sync may change (not those set
        by a person), in order of their order id, streamed through a
        server-side cursor ``batch_size`` rows at a time.

        :return: iterator of ``(id, kind, order_ref, sku, state, source,
            unit_cost, missing_reason, quantity, sign)``, "" for no order or
            SKU
        """
        self.flush_model()
        cr = self.env.cr
        name = SQL.identifier(f"goflow_sync_rows_{settlement.id}")
        cr.execute(
            SQL(
                """
                DECLARE %s NO SCROLL CURSOR FOR
                SELECT id, kind, COALESCE(order_ref, ''), COALESCE(sku, ''),
                       state, source, unit_cost, missing_reason, quantity, sign
                  FROM goflow_cost_line
                 WHERE settlement_id = %s
                   AND (source IS NULL OR source NOT IN %s)
                 ORDER BY COALESCE(order_ref, ''), id
                """,
                name,
                settlement.id,
                tuple(MANUAL_SOURCES),
            )
        )
        while True:
            cr.execute(SQL("FETCH %s FROM %s", SQL(str(int(batch_size))), name))
            rows = cr.fetchall()
            if not rows:
                break
            yield from rows
        # Closed here when read to the end; on an error the savepoint or
        # transaction around the sync closes it.
        cr.execute(SQL("CLOSE %s", name))

    @api.model
    def _sync_stage_begin(self):
        """An empty staging table for the rows a sync decides
        (:meth:`_sync_stage`), dropped with the transaction."""
        self.env.cr.execute(
            """
            CREATE TEMP TABLE IF NOT EXISTS goflow_sync_update (
                id integer PRIMARY KEY, unit_cost numeric, total_cost numeric,
                state varchar, source varchar, missing_reason varchar,
                goflow_order_ref varchar
            ) ON COMMIT DROP
            """
        )
        self.env.cr.execute("TRUNCATE goflow_sync_update")

    @api.model
    def _sync_stage(self, rows):
        """Stage what a sync decided for some lines, with ``COPY``.

        :param rows: ``[(id, *values of SYNC_COLUMNS)]`` as strings, "" for
            NULL
        """
        if rows:
            self.env.cr.copy_expert(
                "COPY goflow_sync_update FROM STDIN WITH (FORMAT text, NULL '')",
                io.StringIO(copy_text(tuple, rows)),
            )

    @api.model
    def _sync_stage_apply(self, settlement, synced_at):
        """Write the staged rows on their lines in one ``UPDATE ... FROM``,
        and stamp every line of ``settlement`` with the sync time. Each row
        is written once: a 450,000-line settlement is rewritten in seconds,
        not in minutes of VALUES lists."""
        self.flush_model()
        cr = self.env.cr
        cr.execute(
            SQL(
                """
                UPDATE goflow_cost_line c
                   SET unit_cost = v.unit_cost,
                       total_cost = v.total_cost,
                       state = v.state,
                       source = v.source,
                       missing_reason = v.missing_reason,
                       goflow_order_ref = COALESCE(
                           v.goflow_order_ref, c.goflow_order_ref
                       ),
                       synced_at = %s,
                       write_uid = %s,
                       write_date = %s
                  FROM goflow_sync_update v
                 WHERE c.id = v.id
                """,
                synced_at,
                self.env.uid,
                synced_at,
            )
        )
        cr.execute(
            SQL(
                """
                UPDATE goflow_cost_line
                   SET synced_at = %s
                 WHERE settlement_id = %s
                   AND synced_at IS DISTINCT FROM %s
                """,
                synced_at,
                settlement.id,
                synced_at,
            )
        )
        cr.execute("TRUNCATE goflow_sync_update")
        self._written_by_sql(
            settlement, [*SYNC_COLUMNS, "synced_at", "write_uid", "write_date"]
        )

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
