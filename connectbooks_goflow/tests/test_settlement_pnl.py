from odoo.exceptions import AccessError
from odoo.tests import tagged

from .test_cost_sync import GoflowSandboxCase

BUCKETS = ("sales", "promotions", "fees", "refunds", "other", "tax")
BLUE = "BLU-MUG-12OZ"
ORDER_1 = "112-4455667-1234567"


@tagged("post_install", "-at_install")
class TestSettlementPnl(GoflowSandboxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.settlement = cls._import(cls)
        cls.settlement.action_sync_goflow()
        cls.Pnl = cls.env["connectbooks.settlement.pnl"]

    def _rows(self, **keys):
        domain = [("settlement_id", "=", self.settlement.id)]
        domain += [(name, "=", value) for name, value in keys.items()]
        return self.Pnl.search(domain)

    def test_order_row(self):
        row = self._rows(kind="order", order_ref=ORDER_1, sku=BLUE)
        self.assertEqual(len(row), 1, msg="one row per settlement, kind, order, SKU")
        self.assertAlmostEqual(row.sales, 39.98, msg="ItemPrice Principal")
        self.assertAlmostEqual(row.promotions, -4.00)
        self.assertAlmostEqual(row.fees, -12.66, msg="commission + FBA fee")
        self.assertAlmostEqual(row.tax, 0.0, msg="tax collected then withheld")
        self.assertAlmostEqual(row.cost, 12.50, msg="2 x 6.25 from Goflow")
        self.assertEqual(row.quantity, 2, msg="the item's units, counted once")
        self.assertAlmostEqual(row.profit, 39.98 - 4.00 - 12.66 - 12.50)
        self.assertAlmostEqual(row.margin, 27.06, places=2, msg="profit / sales")
        self.assertFalse(row.cost_missing)
        self.assertEqual(row.store_id, self.store_a)
        self.assertEqual(row.company_id, self.company_a)
        self.assertEqual(str(row.posted_date), "2024-03-02")

    def test_refund_row(self):
        row = self._rows(kind="refund", order_ref=ORDER_1, sku=BLUE)
        self.assertAlmostEqual(row.refunds, -19.99)
        self.assertAlmostEqual(row.fees, 2.70 - 0.54, msg="commission given back")
        self.assertAlmostEqual(row.cost, -6.25, msg="goods back to stock")
        self.assertEqual(row.quantity, -1, msg="a unit came back")
        self.assertAlmostEqual(row.profit, -19.99 + 2.16 + 6.25)

    def test_missing_cost_row(self):
        row = self._rows(kind="order", order_ref="114-2233445-5566778", sku=BLUE)
        self.assertTrue(row.cost_missing, msg="Goflow has no cost for it")
        self.assertEqual(row.cost_missing_count, 1)
        self.assertAlmostEqual(row.sales, 19.99)
        self.assertAlmostEqual(row.tax, -0.12, msg="the retrocharge is tax")
        action = row.action_view_cost_lines()
        lines = self.env["goflow.cost.line"].search(action["domain"])
        self.assertEqual(len(lines), 1, msg="the icon opens its cost line")
        self.assertEqual(lines.state, "missing")

    def test_totals_are_not_multiplied(self):
        rows = self._rows()
        amounts = sum(sum(rows.mapped(name)) for name in BUCKETS)
        reserve = sum(
            self.settlement.line_ids.filtered(
                lambda line: line.kind == "reserve"
            ).mapped("amount")
        )
        self.assertAlmostEqual(
            amounts + reserve,
            self.settlement.total_amount,
            places=2,
            msg="every amount counted once: P&L columns + reserve = the deposit",
        )
        self.assertAlmostEqual(
            sum(rows.mapped("cost")),
            sum(self.settlement.cost_line_ids.mapped("total_cost")),
            places=2,
            msg="every cost line counted once",
        )
        self.assertEqual(
            sum(rows.mapped("cost_missing_count")),
            self.settlement.missing_count,
            msg="the missing indicator adds up to the settlement's count",
        )
        self.assertFalse(rows.filtered(lambda r: r.kind == "reserve"))

    def test_group_by_sku(self):
        groups = self.Pnl.read_group(
            [("settlement_id", "=", self.settlement.id)],
            ["sku", "quantity:sum", "sales:sum", "profit:sum", "cost:sum", "margin"],
            ["sku"],
        )
        blue = next(g for g in groups if g["sku"] == BLUE)
        rows = self._rows(sku=BLUE)
        self.assertAlmostEqual(blue["sales"], sum(rows.mapped("sales")))
        self.assertAlmostEqual(blue["cost"], sum(rows.mapped("cost")))
        self.assertAlmostEqual(
            blue["margin"],
            100 * sum(rows.mapped("profit")) / sum(rows.mapped("sales")),
            msg="a group's margin is its profit over its sales",
        )
        result = self.Pnl.web_read_group(
            [("settlement_id", "=", self.settlement.id), ("kind", "=", "order")],
            ["sku", "cost:sum", "cost_missing_count:sum", "cost_missing:bool_or"],
            ["sku"],
        )
        by_sku = {g["sku"]: g for g in result["groups"]}
        self.assertEqual(
            by_sku[BLUE]["cost_missing_count"], 1, msg="missing shown on the total"
        )
        self.assertTrue(by_sku[BLUE]["cost_missing"])
        self.assertFalse(
            by_sku["TEA-TIN-50G"]["cost_missing"], msg="every TEA order is costed"
        )

    def test_grouped_list_pages(self):
        domain = [("settlement_id", "=", self.settlement.id)]
        full = self.Pnl.web_read_group(domain, ["sales:sum"], ["sku"])
        page = self.Pnl.web_read_group(
            domain, ["sales:sum"], ["sku"], limit=1, offset=1
        )
        self.assertEqual(page["length"], len(full["groups"]), msg="all groups counted")
        self.assertEqual(len(page["groups"]), 1, msg="one group per page")
        self.assertEqual(page["groups"][0]["sku"], full["groups"][1]["sku"])
        orders = self.Pnl.web_read_group(domain, ["sales:sum"], ["order_ref"], limit=2)
        self.assertEqual(
            orders["length"],
            len(set(self._rows().mapped("order_ref"))),
            msg="grouped by order id: counted by the base method",
        )

    def test_pivot_margin_without_sales(self):
        groups = self.Pnl.read_group(
            [("settlement_id", "=", self.settlement.id), ("kind", "=", "fee")],
            ["margin:avg"],
            [],
        )
        self.assertFalse(groups[0]["margin"], msg="no sales, no margin")

    def test_access(self):
        rows = self.Pnl.with_user(self.bookkeeper).search(
            [("settlement_id", "=", self.settlement.id)]
        )
        self.assertTrue(rows, msg="a bookkeeper reads the P&L")
        self.assertFalse(
            self.Pnl.with_user(self.bookkeeper_b).search(
                [("settlement_id", "=", self.settlement.id)]
            ),
            msg="company B does not see company A's P&L",
        )
        with self.assertRaises(AccessError, msg="no accounting rights, no P&L"):
            self.Pnl.with_user(self.plain_user).search([])

    def test_store_mapping_moves_amount_in_entry_and_pnl(self):
        """A store's own rule decides the P&L column as it decides the
        entry's account: the two never disagree."""
        before = self._rows(kind="order", order_ref=ORDER_1, sku=BLUE)
        self.assertAlmostEqual(before.fees, -12.66, msg="by default a fee")
        self.assertAlmostEqual(before.other, 0.0)
        self.env["connectbooks.amount.mapping"].create(
            {
                "marketplace": "amazon",
                "store_id": self.store_a.id,
                "amount_type": "ItemFees",
                "amount_description": "FBAPerUnitFulfillmentFee",
                "role": "other",
            }
        )
        self.env.flush_all()
        self.Pnl.invalidate_model()  # a view: the ORM cannot know it changed
        after = self._rows(kind="order", order_ref=ORDER_1, sku=BLUE)
        self.assertAlmostEqual(after.fees, -5.40, msg="the commission only")
        self.assertAlmostEqual(after.other, -7.26, msg="the store's rule: other")
        self.assertAlmostEqual(after.profit, before.profit, msg="moved, not lost")
        other_pnl = sum(self._rows().mapped("other"))
        entry = self.settlement._prepare_settlement_move_vals()
        by_account = {}
        for _command, _id, vals in entry["line_ids"]:
            by_account[vals["account_id"]] = (
                by_account.get(vals["account_id"], 0.0) + vals["balance"]
            )
        # the P&L's "other" column holds the roles other and reimbursement;
        # an amount received is a credit (a negative balance) in the entry
        other_accounts = (
            self.store_a.account_other_id | self.store_a.account_reimbursement_id
        ).ids
        fee_account = self.store_a.account_fulfillment_fee_id.id
        self.assertAlmostEqual(
            -sum(by_account.get(account, 0.0) for account in other_accounts),
            other_pnl,
            places=2,
            msg="the entry's other accounts hold what the P&L shows as other",
        )
        self.assertNotIn(
            fee_account,
            [a for a, amount in by_account.items() if round(amount, 2)],
            msg="no FBA fee left on the fulfilment fee account",
        )
