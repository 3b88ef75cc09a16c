from odoo import api, fields, models, tools
from odoo.tools import SQL

from ..core.mapping import (
    PNL_COLUMN_OF_ROLE,
    PNL_FEES,
    PNL_OTHER,
    PNL_PROMOTIONS,
    PNL_REFUNDS,
    PNL_SALES,
    PNL_TAX,
    PNL_UNMAPPED,
)
from ..core.vocabulary import LINE_KINDS, SETTLEMENT_STATES

# Bucket codes; sales..other (1-5) make the profit, then cost is taken off.
BUCKET_COST, BUCKET_SALES, BUCKET_PROMOTIONS, BUCKET_FEES = 0, 1, 2, 3
BUCKET_REFUNDS, BUCKET_OTHER, BUCKET_TAX = 4, 5, 6
BUCKET_OF_COLUMN = {
    PNL_SALES: BUCKET_SALES,
    PNL_PROMOTIONS: BUCKET_PROMOTIONS,
    PNL_FEES: BUCKET_FEES,
    PNL_REFUNDS: BUCKET_REFUNDS,
    PNL_OTHER: BUCKET_OTHER,
    PNL_TAX: BUCKET_TAX,
}
# A role whose amounts stay out of the P&L (the reserve).
ROLE_LEFT_OUT = [role for role, column in PNL_COLUMN_OF_ROLE.items() if not column]


def _bucket_of_role(role_sql):
    """SQL: the bucket code of the account role ``role_sql`` (NULL: unmapped)."""
    cases = SQL(" ").join(
        SQL("WHEN %s THEN %s", role, SQL(str(BUCKET_OF_COLUMN[column])))
        for role, column in PNL_COLUMN_OF_ROLE.items()
        if column
    )
    return SQL(
        "CASE %s %s ELSE %s END",
        role_sql,
        cases,
        SQL(str(BUCKET_OF_COLUMN[PNL_UNMAPPED])),
    )


# The amount mapping rule of a settlement line, as connectbooks.amount.mapping
# _mapping_index decides it (core/mapping.MappingIndex): the store's rules,
# then the marketplace's; within each an exact description, then an exact
# transaction type; values compared trimmed and lower-cased.
#
# The rule is looked up once per distinct (settlement, transaction type,
# amount type, description) of the lines -- a few hundred for a million rows
# -- and the lines are joined to those by hash. The combinations are a
# DISTINCT over the same lines, so a filter on the settlement reaches them
# too. The GROUP BY (one rule a combination: MIN picks the only one) keeps
# the planner from flattening the subquery and running the lookup after the
# join, once per line -- what a per-row lateral lookup left to its Memoize,
# which it does not choose on tables without statistics (a new database: the
# P&L of a million rows then took minutes).
LINE_ROLE = SQL(
    """
    JOIN (
        SELECT c.settlement_id, c.transaction_type, c.amount_type,
               c.amount_description, MIN(r.role) AS role
          FROM (
                SELECT DISTINCT settlement_id,
                       COALESCE(transaction_type, '') AS transaction_type,
                       COALESCE(amount_type, '') AS amount_type,
                       COALESCE(amount_description, '') AS amount_description
                  FROM connectbooks_settlement_line
               ) c
          JOIN connectbooks_settlement cs ON cs.id = c.settlement_id
          JOIN connectbooks_store st ON st.id = cs.store_id
          LEFT JOIN LATERAL (
              SELECT m.role
                FROM connectbooks_amount_mapping m
               WHERE m.active
                 AND m.marketplace = st.marketplace
                 AND (m.store_id = st.id OR m.store_id IS NULL)
                 AND COALESCE(LOWER(BTRIM(m.amount_type)), '')
                     = LOWER(BTRIM(c.amount_type))
                 AND COALESCE(LOWER(BTRIM(m.transaction_type)), '')
                     IN ('', LOWER(BTRIM(c.transaction_type)))
                 AND COALESCE(LOWER(BTRIM(m.amount_description)), '')
                     IN ('', LOWER(BTRIM(c.amount_description)))
               ORDER BY m.store_id IS NULL,
                        COALESCE(BTRIM(m.amount_description), '') = '',
                        COALESCE(BTRIM(m.transaction_type), '') = '',
                        m.id
               LIMIT 1
          ) r ON TRUE
         GROUP BY c.settlement_id, c.transaction_type, c.amount_type,
                  c.amount_description
    ) lr
      ON lr.settlement_id = l.settlement_id
     AND lr.transaction_type = COALESCE(l.transaction_type, '')
     AND lr.amount_type = COALESCE(l.amount_type, '')
     AND lr.amount_description = COALESCE(l.amount_description, '')
    """
)


class ConnectbooksSettlementPnl(models.Model):
    """Profit and loss per settlement, kind, order and SKU (read-only view).

    Each side is aggregated on its own and then matched on (settlement, kind,
    order id, SKU) — a UNION ALL grouped once, which is a full outer join of
    the two aggregates — so the amount rows of an order item and its cost
    lines never multiply each other, and a filter on the settlement reaches
    both tables' indexes.

    *profit* = sales + promotions + fees + refunds + other - cost (fees and
    promotions are negative amounts, a refund's cost is negative: the goods
    came back); *margin* = profit / sales. *cost missing* flags a row with a
    cost line still missing: its cost, profit and margin are not final.
    """

    _name = "connectbooks.settlement.pnl"
    _description = "Settlement Profit and Loss"
    _auto = False
    _order = "deposit_date desc, settlement_id desc, posted_date, order_ref, sku"
    _rec_name = "sku"

    settlement_id = fields.Many2one("connectbooks.settlement", readonly=True)
    store_id = fields.Many2one("connectbooks.store", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one("res.currency", readonly=True)
    deposit_date = fields.Date(readonly=True)
    settlement_state = fields.Selection(
        list(SETTLEMENT_STATES),
        string="Settlement Status",
        readonly=True,
    )
    posted_date = fields.Date(readonly=True)
    kind = fields.Selection(list(LINE_KINDS), readonly=True)
    order_ref = fields.Char(string="Order ID", readonly=True)
    sku = fields.Char(string="SKU", readonly=True)
    product_id = fields.Many2one("product.product", readonly=True)
    quantity = fields.Float(
        digits="Product Unit of Measure",
        readonly=True,
        help="Units that left stock (positive) or came back (negative), as "
        "costed: the quantities of the cost lines.",
    )
    sales = fields.Monetary(
        readonly=True, help="Item price of orders: principal, shipping, gift wrap."
    )
    promotions = fields.Monetary(readonly=True, help="Promotions and points.")
    fees = fields.Monetary(
        readonly=True,
        help="Marketplace fees: commissions, fulfilment, storage, advertising...",
    )
    refunds = fields.Monetary(readonly=True, help="Item price given back on refunds.")
    other = fields.Monetary(
        readonly=True, help="Reimbursements, adjustments and other transactions."
    )
    tax = fields.Monetary(
        string="Sales Tax",
        readonly=True,
        help="Tax collected and withheld by the marketplace; not in the profit.",
    )
    cost = fields.Monetary(
        string="Cost (COGS)",
        readonly=True,
        help="Goflow costs of the goods; negative for goods back to stock. "
        "A missing cost counts as 0 here: see Missing Costs.",
    )
    profit = fields.Monetary(readonly=True)
    margin = fields.Float(
        string="Margin (%)",
        digits=(16, 2),
        aggregator="avg",
        readonly=True,
        help="Profit / sales. On a group: its profit over its sales.",
    )
    cost_missing = fields.Boolean(
        string="Cost Missing", aggregator="bool_or", readonly=True
    )
    cost_missing_count = fields.Integer(
        string="Missing Costs",
        readonly=True,
        help="Cost lines without a cost in this row (or group): its cost and "
        "profit are not final.",
    )

    def init(self):
        # The view filters on settlement_id (indexed on both tables) and
        # aggregates the whole settlement; a composite (settlement, kind,
        # order, SKU) index was measured unused for that and would only slow
        # the import down.
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL(
                "CREATE VIEW %s AS (%s)",
                SQL.identifier(self._table),
                self._pnl_query(),
            )
        )

    @api.model
    def _pnl_query(self):
        """One row per (settlement, kind, order id, SKU): the settlement
        lines and the cost lines of the key, each counted once.

        Amounts are summed as float8, not numeric: a numeric sum's state is
        what made the parallel aggregation of a million rows slow, and 15
        significant digits keep any settlement's totals exact to the cent
        (the ORM reads them as floats anyway).
        """

        def total(bucket):
            return SQL(
                "COALESCE(SUM(u.amount) FILTER (WHERE u.bucket = %s), 0)",
                SQL(str(bucket)),
            )

        return SQL(
            """
            SELECT CASE
                       WHEN g.line_id IS NOT NULL THEN g.line_id::bigint * 2
                       ELSE g.cost_id::bigint * 2 + 1
                   END AS id,
                   g.settlement_id,
                   s.store_id,
                   s.company_id,
                   s.currency_id,
                   s.deposit_date,
                   s.state AS settlement_state,
                   g.posted_date,
                   g.kind,
                   NULLIF(g.order_ref, '') AS order_ref,
                   NULLIF(g.sku, '') AS sku,
                   g.product_id,
                   g.quantity,
                   g.sales,
                   g.promotions,
                   g.fees,
                   g.refunds,
                   g.other,
                   g.tax,
                   g.cost,
                   g.profit,
                   CASE WHEN g.sales <> 0
                        THEN ROUND((100 * g.profit / g.sales)::numeric, 2)
                   END AS margin,
                   g.cost_missing_count > 0 AS cost_missing,
                   g.cost_missing_count
              FROM (
                    SELECT u.settlement_id, u.kind, u.order_ref, u.sku,
                           MIN(u.line_id) AS line_id,
                           MIN(u.cost_id) AS cost_id,
                           MIN(u.posted_date) AS posted_date,
                           MAX(u.product_id) AS product_id,
                           COALESCE(SUM(u.quantity), 0) AS quantity,
                           %(sales)s AS sales,
                           %(promotions)s AS promotions,
                           %(fees)s AS fees,
                           %(refunds)s AS refunds,
                           %(other)s AS other,
                           %(tax)s AS tax,
                           %(cost)s AS cost,
                           COALESCE(SUM(u.amount) FILTER (
                               WHERE u.bucket BETWEEN %(first)s AND %(last)s), 0)
                               - %(cost)s AS profit,
                           COUNT(*) FILTER (WHERE u.missing)::integer
                               AS cost_missing_count
                      FROM (
                            SELECT l.settlement_id,
                                   l.kind,
                                   COALESCE(l.order_ref, '') AS order_ref,
                                   COALESCE(l.sku, '') AS sku,
                                   l.id AS line_id,
                                   NULL::integer AS cost_id,
                                   l.posted_date,
                                   NULL::integer AS product_id,
                                   NULL::float8 AS quantity,
                                   l.amount::float8 AS amount,
                                   %(bucket)s AS bucket,
                                   FALSE AS missing
                              FROM connectbooks_settlement_line l
                              %(line_role)s
                             WHERE lr.role IS NULL OR lr.role NOT IN %(left_out)s
                            UNION ALL
                            %(cost_lines)s
                           ) u
                     GROUP BY u.settlement_id, u.kind, u.order_ref, u.sku
                   ) g
              JOIN connectbooks_settlement s ON s.id = g.settlement_id
            """,
            bucket=_bucket_of_role(SQL("lr.role")),
            line_role=LINE_ROLE,
            left_out=tuple(ROLE_LEFT_OUT),
            cost_lines=self.env["goflow.cost.line"]._pnl_query(SQL(str(BUCKET_COST))),
            first=SQL(str(BUCKET_SALES)),
            last=SQL(str(BUCKET_OTHER)),
            sales=total(BUCKET_SALES),
            promotions=total(BUCKET_PROMOTIONS),
            fees=total(BUCKET_FEES),
            refunds=total(BUCKET_REFUNDS),
            other=total(BUCKET_OTHER),
            tax=total(BUCKET_TAX),
            cost=total(BUCKET_COST),
        )

    def action_view_cost_lines(self):
        """The cost lines behind this row (to resolve a missing cost)."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "connectbooks_goflow.goflow_cost_line_action"
        )
        action["domain"] = [
            ("settlement_id", "=", self.settlement_id.id),
            ("kind", "=", self.kind),
            ("order_ref", "=", self.order_ref or False),
            ("sku", "=", self.sku or False),
        ]
        action["context"] = {}
        return action

    @api.model
    def read_group(
        self, domain, fields, groupby, offset=0, limit=None, orderby=False, lazy=True
    ):
        """A group's margin is its profit over its sales, not the average of
        its rows' margins."""
        names = {spec.split(":")[0] for spec in fields}
        if "margin" not in names:
            return super().read_group(
                domain, fields, groupby, offset, limit, orderby, lazy
            )
        extra = ["pnl_profit_sum:sum(profit)", "pnl_sales_sum:sum(sales)"]
        groups = super().read_group(
            domain, [*fields, *extra], groupby, offset, limit, orderby, lazy
        )
        for group in groups:
            profit = group.pop("pnl_profit_sum", None) or 0.0
            sales = group.pop("pnl_sales_sum", None) or 0.0
            group["margin"] = 100.0 * profit / sales if sales else False
        return groups

    @api.model
    @api.readonly
    def web_read_group(
        self, domain, fields, groupby, limit=None, offset=0, orderby=False, lazy=True
    ):
        """Page the groups of one aggregation.

        The base method aggregates a second time to count the groups when a
        page is full, which on this view means aggregating the settlement
        lines twice. Groups by anything but the order id are few (stores,
        settlements, months, SKUs...): read them all once and page here.
        """
        first = groupby[0] if isinstance(groupby, list | tuple) and groupby else groupby
        if not limit or not first or first.split(":")[0] == "order_ref":
            return super().web_read_group(
                domain, fields, groupby, limit, offset, orderby, lazy
            )
        groups = self._web_read_group(domain, fields, groupby, None, 0, orderby, lazy)
        return {"groups": groups[offset : offset + limit], "length": len(groups)}
