from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged
from odoo.tools.misc import file_path

from .test_cost_sync import GoflowSandboxCase


@tagged("post_install", "-at_install")
class TestJournalEntries(GoflowSandboxCase):
    def _resolve_all(self, settlement, unit_cost=5.0):
        missing = settlement.cost_line_ids.filtered(lambda c: c.state == "missing")
        missing.write(
            {
                "unit_cost": unit_cost,
                "state": "costed",
                "source": "manual",
                "missing_reason": False,
            }
        )
        return missing

    def _synced_and_resolved(self):
        settlement = self._import()
        settlement.action_sync_goflow()
        self._resolve_all(settlement)
        return settlement

    @staticmethod
    def _balances(move):
        result = {}
        for line in move.line_ids:
            key = line.account_id.code
            result[key] = round(result.get(key, 0.0) + line.balance, 2)
        return result

    def test_post_creates_balanced_entries(self):
        settlement = self._synced_and_resolved()
        self.assertEqual(settlement.export_status, "Ready")
        settlement.with_user(self.manager).action_post()
        self.assertEqual(settlement.state, "posted")
        self.assertEqual(settlement.export_status, "Posted")
        entry = settlement.move_id
        self.assertEqual(entry.state, "posted")
        self.assertEqual(entry.journal_id, self.journal_a)
        self.assertEqual(fields.Date.to_string(entry.date), "2024-03-17")
        self.assertEqual(entry.goflow_settlement_id, settlement)
        balances = self._balances(entry)
        self.assertAlmostEqual(
            balances["CBG100"], 127.20, msg="the deposit debits the clearing account"
        )
        self.assertAlmostEqual(sum(balances.values()), 0.0, msg="entry balances")
        # Principal of orders (39.98 + 19.99 + 38.97 + 19.99) credits sales
        self.assertAlmostEqual(balances["CBG400"], -118.93)
        # refunds (Refund + Chargeback Refund principal) hit the refund account
        self.assertAlmostEqual(balances["CBG402"], 32.98)
        self.assertAlmostEqual(balances["CBG602"], 120.50, msg="advertising")
        self.assertAlmostEqual(
            balances["CBG140"], -1250.00 + 980.35, msg="reserve released net"
        )
        # COGS entry: per SKU and direction, linked to its cost lines
        cogs = settlement.cogs_move_ids
        self.assertEqual(len(cogs), 1)
        self.assertEqual(cogs.state, "posted")
        total_cost = sum(settlement.cost_line_ids.mapped("total_cost"))
        cogs_balances = self._balances(cogs)
        self.assertAlmostEqual(cogs_balances["CBG500"], round(total_cost, 2))
        self.assertAlmostEqual(cogs_balances["CBG130"], -round(total_cost, 2))
        for line in settlement.cost_line_ids:
            item = line.cogs_move_line_id
            self.assertTrue(item, msg=f"cost line {line.sku} linked")
            self.assertEqual(item.move_id, cogs)
            self.assertEqual(item.account_id.code, "CBG500")
            self.assertIn(line, item.goflow_cost_line_ids)
            self.assertEqual(line.posted_total, line.total_cost)
        blue_out = cogs.line_ids.filtered(
            lambda i: (
                i.account_id.code == "CBG500"
                and "BLU-MUG-12OZ" in i.name
                and i.balance > 0
            )
        )
        # 2 x 6.25 (order 112) + 1 x 5.00 (order 114, resolved by hand)
        self.assertAlmostEqual(blue_out.balance, 17.5)
        self.assertEqual(blue_out.quantity, 3)
        blue_back = cogs.line_ids.filtered(
            lambda i: (
                i.account_id.code == "CBG500"
                and "BLU-MUG-12OZ" in i.name
                and i.balance < 0
            )
        )
        self.assertAlmostEqual(blue_back.balance, -6.25, msg="refunds credit COGS")
        self.assertEqual(cogs.goflow_cost_line_count, len(settlement.cost_line_ids))

    def test_rounding_ties_out(self):
        settlement = self._make_settlement(
            self.store_a, ref="ROUND-1", total_amount=10.0, deposit_date="2024-05-01"
        )
        self.env["connectbooks.settlement.line"].create(
            {
                "settlement_id": settlement.id,
                "kind": "order",
                "transaction_type": "Order",
                "amount_type": "ItemPrice",
                "amount_description": "Principal",
                "amount": 10.0,
            }
        )
        lines = self.env["goflow.cost.line"].create(
            [
                {
                    "settlement_id": settlement.id,
                    "kind": "order",
                    "order_ref": f"O-{i}",
                    "sku": "THIRD",
                    "quantity": 1 + i % 3,
                    "unit_cost": 0.3333,
                    "state": "costed",
                    "source": "manual",
                    "synced_at": fields.Datetime.now(),
                }
                for i in range(50)
            ]
        )
        settlement.with_user(self.manager).action_post()
        expected = round(sum(lines.mapped("total_cost")), 2)
        cogs = settlement.cogs_move_ids
        item = cogs.line_ids.filtered(lambda i: i.account_id.code == "CBG500")
        self.assertAlmostEqual(
            item.balance, expected, msg="COGS = sum of rounded lines"
        )
        self.assertAlmostEqual(
            expected,
            sum(round((1 + i % 3) * 0.3333, 2) for i in range(50)),
        )

    def test_gate_missing_cost(self):
        settlement = self._import()
        settlement.action_sync_goflow()
        with self.assertRaisesRegex(
            UserError, r"3 cost line\(s\) without a cost.*BLU-MUG"
        ):
            settlement.with_user(self.manager).action_post()
        self.assertEqual(settlement.state, "draft")
        self.assertFalse(
            self.env["account.move"].search(
                [("goflow_settlement_id", "=", settlement.id)]
            )
        )

    def test_gate_unmapped(self):
        settlement = self._synced_and_resolved()
        self.store_a.account_other_id = False
        self.assertEqual(settlement.export_status, "Unmapped transaction (1)")
        with self.assertRaisesRegex(UserError, "MiscAdjustment"):
            settlement.with_user(self.manager).action_post()

    def test_gate_deposit(self):
        settlement = self._synced_and_resolved()
        settlement.total_amount = 130.00
        with self.assertRaisesRegex(UserError, r"127\.2.*130\.0") as caught:
            settlement.with_user(self.manager).action_post()
        self.assertIn("difference", str(caught.exception))

    def test_bookkeeper_cannot_post(self):
        settlement = self._synced_and_resolved()
        with self.assertRaises(AccessError):
            settlement.with_user(self.bookkeeper).action_post()

    def test_estimates_then_real_cost_trueup(self):
        settlement = self._import()
        settlement.action_sync_goflow()
        settlement.with_user(self.manager).action_post_estimated()
        self.assertTrue(settlement.posted_with_estimates)
        self.assertEqual(settlement.export_status, "Posted with estimates")
        late = settlement.cost_line_ids.filtered(
            lambda c: c.order_ref == "114-2233445-5566778"
        )
        self.assertEqual(
            (late.source, late.unit_cost), ("estimate", 6.0), msg="default cost"
        )
        tea = settlement.cost_line_ids.filtered(
            lambda c: c.kind == "adjustment" and c.sku == "TEA-TIN-50G"
        )
        self.assertEqual(
            (tea.source, tea.unit_cost), ("estimate", 4.2), msg="Goflow average"
        )
        self.sandbox.set_line_cost(9004, 0, 6.5)
        try:
            settlement.action_sync_goflow()
        finally:
            self.sandbox.set_line_cost(9004, 0, None)
        self.assertEqual((late.source, late.unit_cost), ("goflow", 6.5))
        trueup = settlement.cogs_move_ids.filtered(
            lambda m: m.goflow_move_kind == "trueup"
        )
        self.assertEqual(len(trueup), 1)
        self.assertEqual(trueup.state, "posted")
        self.assertAlmostEqual(self._balances(trueup)["CBG500"], 0.5)
        self.assertEqual(late.posted_total, late.total_cost)
        self.assertEqual(late.trueup_move_line_ids.move_id, trueup, msg="linked")
        self.assertEqual(trueup.goflow_cost_line_count, 1)
        self.assertEqual(
            set(trueup.line_ids.mapped("quantity")), {0.0}, msg="value, not units"
        )
        self.assertTrue(
            settlement.posted_with_estimates, msg="adjustments still estimated"
        )
        # a second sync changes nothing more
        settlement.action_sync_goflow()
        self.assertEqual(
            len(
                settlement.cogs_move_ids.filtered(
                    lambda m: m.goflow_move_kind == "trueup"
                )
            ),
            1,
        )

    def test_trueup_after_lock_date(self):
        settlement = self._synced_and_resolved()
        settlement.with_user(self.manager).action_post()
        self.company_a.sudo().fiscalyear_lock_date = "2024-06-30"
        line = settlement.cost_line_ids.filtered(
            lambda c: c.kind == "adjustment" and c.sku == "RED-MUG-12OZ"
        )
        line.with_user(self.manager).write({"unit_cost": 5.5})
        trueup = settlement.cogs_move_ids.filtered(
            lambda m: m.goflow_move_kind == "trueup"
        )
        self.assertEqual(fields.Date.to_string(trueup.date), "2024-07-01")
        # RED came back (reversal): 0.50 more value back to stock, less COGS
        self.assertAlmostEqual(self._balances(trueup)["CBG500"], -0.5)
        with self.assertRaises(AccessError):
            line.with_user(self.bookkeeper).write({"unit_cost": 6.0})

    def test_reset_and_repost(self):
        settlement = self._synced_and_resolved()
        settlement.with_user(self.manager).action_post()
        first_entry = settlement.move_id
        first_cogs = settlement.cogs_move_ids
        with self.assertRaises(UserError):
            settlement.unlink()
        settlement.with_user(self.manager).action_reset_to_draft()
        self.assertEqual(settlement.state, "draft")
        self.assertEqual(first_entry.state, "cancel")
        self.assertEqual(first_cogs.state, "cancel")
        self.assertFalse(any(settlement.cost_line_ids.mapped("cogs_move_line_id")))
        settlement.with_user(self.manager).action_post()
        posted = self.env["account.move"].search(
            [("goflow_settlement_id", "=", settlement.id), ("state", "=", "posted")]
        )
        self.assertEqual(len(posted), 2, msg="one settlement and one COGS entry")
        self.assertEqual(
            len(posted.line_ids), len(first_entry.line_ids) + len(first_cogs.line_ids)
        )

    def test_company_accounts_never_cross(self):
        env_b = self.env(
            context=dict(self.env.context, allowed_company_ids=[self.company_b.id])
        )
        with open(self._path(), "rb") as f:
            settlement = env_b["connectbooks.settlement.import"]._import_file(
                self.store_b.with_env(env_b), f, "b.txt"
            )
        self._resolve_all(settlement, 3.0)
        settlement.cost_line_ids.write({"synced_at": fields.Datetime.now()})
        settlement.with_env(env_b).action_post()
        items = (settlement.move_id | settlement.cogs_move_ids).line_ids
        self.assertTrue(items)
        self.assertEqual(items.company_id, self.company_b)
        for account in items.account_id:
            self.assertEqual(account.company_ids, self.company_b)

    @staticmethod
    def _path():
        return file_path("connectbooks_goflow/tests/data/amazon_v2_small.txt")

    def test_estimate_confirmed_by_goflow_and_reset(self):
        settlement = self._import()
        settlement.action_sync_goflow()
        settlement.with_user(self.manager).action_post_estimated()
        late = settlement.cost_line_ids.filtered(
            lambda c: c.order_ref == "114-2233445-5566778"
        )
        self.assertEqual((late.source, late.unit_cost), ("estimate", 6.0))
        # Goflow later gives exactly the estimated cost
        self.sandbox.set_line_cost(9004, 0, 6.0)
        try:
            settlement.action_sync_goflow()
        finally:
            self.sandbox.set_line_cost(9004, 0, None)
        self.assertEqual(late.source, "goflow", msg="no longer an estimate")
        self.assertFalse(
            settlement.cogs_move_ids.filtered(lambda m: m.goflow_move_kind == "trueup"),
            msg="nothing to true up at the same cost",
        )
        self.assertTrue(settlement.posted_with_estimates, msg="2 adjustments remain")
        settlement.with_user(self.manager).action_reset_to_draft()
        self.assertEqual(
            settlement.missing_count, 2, msg="estimates go back to missing costs"
        )
        self.assertEqual(late.source, "goflow")
        with self.assertRaisesRegex(UserError, "2 cost line"):
            settlement.with_user(self.manager).action_post()
