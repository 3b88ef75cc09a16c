from datetime import timedelta

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, tagged
from odoo.tools import mute_logger

from .test_cost_sync import GoflowSandboxCase

WIZARD = "goflow.resolve.cost.wizard"
ACTION_SETTLEMENT = "connectbooks_goflow.goflow_resolve_cost_wizard_action_settlement"
ACTION_COST_LINE = "connectbooks_goflow.goflow_resolve_cost_wizard_action_cost_line"
# SKUs of the sandbox's products (tests/test_cost_sync.py small_dataset)
GOFLOW_AVERAGE_SKU = "TEA-TIN-50G"  # pricing.average_cost 4.2
GOFLOW_DEFAULT_SKU = "BLU-MUG-12OZ"  # pricing.default_cost 6.0, no average
ODOO_SKU = "ODOO-ONLY-SKU"  # not in Goflow, costed earlier in Odoo
UNKNOWN_SKU = "NOBODY-KNOWS"


@tagged("post_install", "-at_install")
class TestResolveWizard(GoflowSandboxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.today = fields.Date.context_today(cls.env["goflow.cost.line"])
        cls.earlier = cls._make_settlement(cls.store_a, "EARLIER-A")
        cls._cost_lines(
            cls.earlier,
            [
                # (sku, quantity, unit cost, source, days ago)
                (ODOO_SKU, 2, 3.0, "goflow", 10),
                (ODOO_SKU, 1, 6.0, "manual", 20),
                (ODOO_SKU, 50, 40.0, "estimate", 5),  # estimates never count
                (ODOO_SKU, 40, 30.0, "goflow", 120),  # outside the window
            ],
        )
        cls.earlier_b = cls._make_settlement(cls.store_b, "EARLIER-B")
        cls._cost_lines(cls.earlier_b, [(ODOO_SKU, 10, 9.0, "goflow", 3)])

    @classmethod
    def _cost_lines(cls, settlement, specs, state="costed", offset=0):
        vals_list = []
        for index, (sku, quantity, unit_cost, source, days_ago) in enumerate(
            specs, start=offset
        ):
            vals_list.append(
                {
                    "settlement_id": settlement.id,
                    "kind": "order",
                    "order_ref": f"{settlement.settlement_ref}-{index:03d}",
                    "sku": sku,
                    "quantity": quantity,
                    "unit_cost": unit_cost,
                    "state": state,
                    "source": source,
                    "synced_at": fields.Datetime.now(),
                    "posted_date": cls.today - timedelta(days=days_ago),
                    "missing_reason": "no_goflow_cost" if state == "missing" else False,
                }
            )
        return cls.env["goflow.cost.line"].create(vals_list)

    def _missing(self, settlement, skus, quantity=2, offset=0):
        specs = [(sku, quantity, 0.0, False, 1) for sku in skus]
        return self._cost_lines(settlement, specs, state="missing", offset=offset)

    def _open(self, records, user=None):
        """Run the server action of the Resolve button / list action."""
        xmlid = (
            ACTION_SETTLEMENT
            if records._name == "connectbooks.settlement"
            else ACTION_COST_LINE
        )
        action = self.env.ref(xmlid)
        if user:
            action = action.with_user(user)
        result = action.with_context(
            active_model=records._name,
            active_ids=records.ids,
            active_id=records.ids[0],
        ).run()
        self.assertEqual(result["res_model"], WIZARD, msg="the action opens the wizard")
        return (
            self.env[WIZARD].with_user(user or self.env.user).browse(result["res_id"])
        )

    @staticmethod
    def _by_sku(wizard):
        return {row.sku: row for row in wizard.sku_ids}

    # -- pre-fill --

    def test_prefill_each_basis(self):
        settlement = self._make_settlement(self.store_a, "S-PREFILL")
        self._missing(
            settlement, [GOFLOW_AVERAGE_SKU, ODOO_SKU, GOFLOW_DEFAULT_SKU, UNKNOWN_SKU]
        )
        asked_before = len(self.sandbox.requests_to("products"))
        wizard = self._open(settlement)
        rows = self._by_sku(wizard)
        expected = {
            GOFLOW_AVERAGE_SKU: (4.2, "goflow_average", "Goflow average"),
            ODOO_SKU: (4.0, "odoo_average", "average of 2 costs, last 90 days"),
            GOFLOW_DEFAULT_SKU: (6.0, "goflow_default", "Goflow default cost"),
            UNKNOWN_SKU: (0.0, "none", "no cost known"),
        }
        for sku, (cost, basis, text) in expected.items():
            row = rows[sku]
            self.assertEqual(
                (row.prefill_cost, row.basis, row.basis_text, row.unit_cost),
                (cost, basis, text, cost),
                msg=f"{sku}: pre-fill, basis and the editable cost start equal",
            )
            line = row.line_ids
            self.assertEqual(
                (line.prefill_cost, line.basis_text, line.unit_cost, line.quantity),
                (cost, text, cost, 2.0),
                msg=f"{sku}: the line shows its SKU's pre-fill",
            )
        self.assertEqual(wizard.line_count, 4)
        self.assertEqual(wizard.sku_count, 4)
        self.assertFalse(wizard.prefill_note, msg="Goflow answered: no note")
        self.assertTrue(wizard.can_sync)
        self.assertEqual(
            rows[UNKNOWN_SKU].line_ids.missing_reason,
            "no_goflow_cost",
            msg="the reason it is missing is shown",
        )
        asked = self.sandbox.requests_to("products")[asked_before:]
        for sku in (GOFLOW_AVERAGE_SKU, ODOO_SKU, GOFLOW_DEFAULT_SKU, UNKNOWN_SKU):
            self.assertIn(
                sku, asked[0].query, msg="one batched Goflow call for all SKUs"
            )

    def test_window_is_a_parameter(self):
        self.env["ir.config_parameter"].set_param(
            "connectbooks_goflow.average_window_days", "200"
        )
        settlement = self._make_settlement(self.store_a, "S-WINDOW")
        self._missing(settlement, [ODOO_SKU])
        row = self._open(settlement).sku_ids
        self.assertEqual(
            (row.basis_text, row.prefill_cost),
            ("average of 3 costs, last 200 days", 28.186),
            msg="(2 x 3 + 1 x 6 + 40 x 30) / 43, the estimate still left out",
        )

    def test_goflow_failure_falls_back_with_note(self):
        self.connection_a.sudo().api_token = "revoked-token-000111"
        settlement = self._make_settlement(self.store_a, "S-DOWN")
        self._missing(settlement, [GOFLOW_AVERAGE_SKU, ODOO_SKU])
        wizard = self._open(settlement)
        rows = self._by_sku(wizard)
        self.assertEqual(rows[GOFLOW_AVERAGE_SKU].basis, "none")
        self.assertEqual(rows[ODOO_SKU].basis, "odoo_average")
        self.assertIn("Goflow A", wizard.prefill_note)
        self.assertNotIn("revoked-token-000111", wizard.prefill_note)

    def test_store_without_connection_notes_it(self):
        store = self._make_store(self.company_a, self.journal_a, "Walmart A")
        settlement = self._make_settlement(store, "S-NOCONN")
        self._missing(settlement, [ODOO_SKU])
        wizard = self._open(settlement)
        self.assertIn("Walmart A", wizard.prefill_note)
        self.assertFalse(wizard.can_sync)
        self.assertEqual(wizard.sku_ids.basis, "odoo_average")

    def test_nothing_to_resolve_fails_early(self):
        with self.assertRaisesRegex(UserError, "Nothing to resolve"):
            self._open(self.earlier)

    # -- save --

    def test_accept_and_edit(self):
        settlement = self._make_settlement(self.store_a, "S-SAVE")
        accepted, typed = self._missing(settlement, [GOFLOW_AVERAGE_SKU, ODOO_SKU], 3)
        self.assertEqual(settlement.missing_count, 2)
        wizard = self._open(settlement, user=self.bookkeeper)
        with Form(wizard) as form:
            for index in range(len(form.line_ids)):
                with form.line_ids.edit(index) as line:
                    if line.sku == ODOO_SKU:
                        line.unit_cost = 4.3333
        result = wizard.action_resolve()
        self.assertEqual(result["params"]["type"], "success")
        self.assertEqual(
            (accepted.state, accepted.unit_cost, accepted.source, accepted.total_cost),
            ("costed", 4.2, "average", 12.6),
            msg="the pre-fill accepted untouched: source 'current average'",
        )
        self.assertEqual(
            (typed.state, typed.unit_cost, typed.source, typed.total_cost),
            ("costed", 4.3333, "manual", 13.0),
            msg="a typed cost is manual; the total is rounded by the currency",
        )
        for line in accepted | typed:
            self.assertEqual(line.resolved_by_id, self.bookkeeper, msg="resolved by")
            self.assertTrue(line.resolved_at, msg="resolved at")
            self.assertFalse(line.missing_reason, msg="the reason is cleared")
        self.assertEqual(settlement.missing_count, 0, msg="stored count updated")
        self.assertEqual(settlement.cost_status, "complete")
        self.assertAlmostEqual(settlement.cost_total, 25.6, msg="cost total updated")
        body = settlement.message_ids[0].body
        self.assertIn("2 line(s), 1 typed and 1 at the pre-filled", body)
        self.assertIn(ODOO_SKU, body)

    def test_blank_stays_missing(self):
        settlement = self._make_settlement(self.store_a, "S-BLANK")
        known, unknown = self._missing(settlement, [GOFLOW_AVERAGE_SKU, UNKNOWN_SKU])
        wizard = self._open(settlement)
        wizard.action_resolve()
        self.assertEqual(known.state, "costed")
        self.assertEqual(
            (unknown.state, unknown.source, unknown.missing_reason),
            ("missing", False, "no_goflow_cost"),
            msg="nothing known, nothing typed: the line stays missing",
        )
        self.assertEqual(settlement.missing_count, 1)
        self.assertIn("Still missing: 1", settlement.message_ids[0].body)

    def test_removed_line_stays_missing(self):
        settlement = self._make_settlement(self.store_a, "S-REMOVE")
        kept, removed = self._missing(settlement, [GOFLOW_AVERAGE_SKU, ODOO_SKU])
        wizard = self._open(settlement)
        wizard.line_ids.filtered(lambda w: w.sku == ODOO_SKU).unlink()
        wizard.action_resolve()
        self.assertEqual((kept.state, removed.state), ("costed", "missing"))

    def test_negative_refused(self):
        settlement = self._make_settlement(self.store_a, "S-NEG")
        lines = self._missing(settlement, [GOFLOW_AVERAGE_SKU, ODOO_SKU])
        wizard = self._open(settlement)
        wizard.line_ids.filtered(lambda w: w.sku == ODOO_SKU).unit_cost = -2.5
        with self.assertRaisesRegex(UserError, f"S-NEG-001 / {ODOO_SKU}"):
            wizard.action_resolve()
        self.assertEqual(
            set(lines.mapped("state")), {"missing"}, msg="nothing is written"
        )

    def test_zero_needs_the_tick(self):
        settlement = self._make_settlement(self.store_a, "S-ZERO")
        line = self._missing(settlement, [GOFLOW_AVERAGE_SKU])
        wizard = self._open(settlement)
        wizard.line_ids.unit_cost = 0.0
        with self.assertRaisesRegex(
            UserError, f"Zero is correct.*S-ZERO-000 / {GOFLOW_AVERAGE_SKU}"
        ):
            wizard.action_resolve()
        self.assertEqual(line.state, "missing")
        wizard.line_ids.zero_ok = True
        wizard.action_resolve()
        self.assertEqual(
            (line.state, line.unit_cost, line.source, line.total_cost),
            ("costed", 0.0, "manual", 0.0),
        )

    def test_zero_tick_on_an_unknown_sku(self):
        settlement = self._make_settlement(self.store_a, "S-FREE")
        line = self._missing(settlement, [UNKNOWN_SKU])
        wizard = self._open(settlement)
        wizard.sku_ids.zero_ok = True
        wizard.action_resolve()
        self.assertEqual((line.state, line.unit_cost), ("costed", 0.0))

    # -- bulk resolve --

    def test_bulk_resolve_one_cost_per_sku(self):
        store_ca = self._make_store(self.company_a, self.journal_a, "Amazon CA A")
        first = self._make_settlement(self.store_a, "S-BULK-1")
        second = self._make_settlement(store_ca, "S-BULK-2")
        self._missing(first, [UNKNOWN_SKU, GOFLOW_DEFAULT_SKU])
        self._missing(second, [UNKNOWN_SKU, "OTHER-UNKNOWN"], quantity=1)
        missing = self.env["goflow.cost.line"].search(
            [("state", "=", "missing"), ("settlement_id", "in", (first | second).ids)]
        )
        wizard = self._open(missing, user=self.bookkeeper)
        self.assertEqual(wizard.settlement_ids, first | second)
        rows = self._by_sku(wizard)
        self.assertEqual(len(rows), 3, msg="one row per SKU across settlements")
        self.assertEqual(rows[UNKNOWN_SKU].line_count, 2)
        self.assertEqual(rows[UNKNOWN_SKU].quantity, 3.0)
        rows[UNKNOWN_SKU].unit_cost = 2.75
        rows["OTHER-UNKNOWN"].unit_cost = 1.5
        # one line of the default-cost SKU typed by hand, the row left as is
        default_line = rows[GOFLOW_DEFAULT_SKU].line_ids
        default_line.unit_cost = 6.5
        wizard.action_resolve()
        unknown = missing.filtered(lambda c: c.sku == UNKNOWN_SKU)
        self.assertEqual(len(unknown), 2)
        self.assertEqual(
            set(unknown.mapped("unit_cost")), {2.75}, msg="the SKU's cost fills both"
        )
        self.assertEqual(set(unknown.mapped("source")), {"manual"})
        self.assertEqual(default_line.cost_line_id.unit_cost, 6.5)
        self.assertEqual((first.missing_count, second.missing_count), (0, 0))
        for settlement in first | second:
            self.assertIn(
                "Missing costs resolved",
                settlement.message_ids[0].body,
                msg="a chatter line on each settlement",
            )

    def test_line_cost_wins_over_sku_cost(self):
        first = self._make_settlement(self.store_a, "S-WIN-1")
        second = self._make_settlement(self.store_a, "S-WIN-2")
        a = self._missing(first, [UNKNOWN_SKU])
        b = self._missing(second, [UNKNOWN_SKU])
        wizard = self._open(a | b)
        wizard.sku_ids.unit_cost = 3.0
        wizard.line_ids.filtered(lambda w: w.cost_line_id == b).unit_cost = 3.5
        wizard.action_resolve()
        self.assertEqual((a.unit_cost, b.unit_cost), (3.0, 3.5))

    def test_posted_or_costed_lines_are_left_alone(self):
        settlement = self._make_settlement(self.store_a, "S-RACE")
        line = self._missing(settlement, [GOFLOW_AVERAGE_SKU])
        wizard = self._open(settlement)
        # a sync costs it while the wizard is open
        line.write({"unit_cost": 4.0, "state": "costed", "source": "goflow"})
        wizard.action_resolve()
        self.assertEqual((line.unit_cost, line.source), (4.0, "goflow"))

    # -- Goflow sync --

    def test_sync_inside_wizard_drops_newly_costed_lines(self):
        settlement = self._import()
        settlement.action_sync_goflow()
        self.assertEqual(settlement.missing_count, 3)
        wizard = self._open(settlement)
        self.assertEqual(len(wizard.line_ids), 3)
        late = wizard.line_ids.filtered(lambda w: w.order_ref == "114-2233445-5566778")
        self.assertEqual(late.basis_text, "Goflow default cost")
        red = wizard.sku_ids.filtered(lambda s: s.sku == "RED-MUG-12OZ")
        red.unit_cost = 5.55
        self.sandbox.set_line_cost(9004, 0, 6.5)
        try:
            action = wizard.action_sync_goflow()
        finally:
            self.sandbox.set_line_cost(9004, 0, None)
        again = self.env[WIZARD].browse(action["res_id"])
        self.assertEqual(action["target"], "new", msg="the wizard reopens")
        self.assertEqual(
            set(again.line_ids.mapped("sku")),
            {"TEA-TIN-50G", "RED-MUG-12OZ"},
            msg="the order Goflow now costs is gone",
        )
        self.assertEqual(settlement.missing_count, 2)
        red = again.sku_ids.filtered(lambda s: s.sku == "RED-MUG-12OZ")
        self.assertEqual(
            (red.unit_cost, red.edited), (5.55, True), msg="typed cost carried over"
        )
        again.action_resolve()
        self.assertEqual(settlement.missing_count, 0)

    def test_later_sync_keeps_resolved_costs(self):
        settlement = self._import()
        settlement.action_sync_goflow()
        wizard = self._open(settlement)
        late = wizard.line_ids.filtered(lambda w: w.order_ref == "114-2233445-5566778")
        late.unit_cost = 7.0
        wizard.action_resolve()
        cost_line = late.cost_line_id
        self.assertEqual((cost_line.unit_cost, cost_line.source), (7.0, "manual"))
        self.sandbox.set_line_cost(9004, 0, 6.5)
        try:
            settlement.action_sync_goflow()
        finally:
            self.sandbox.set_line_cost(9004, 0, None)
        self.assertEqual(
            (cost_line.unit_cost, cost_line.source, cost_line.state),
            (7.0, "manual", "costed"),
            msg="manual wins: a sync never overwrites a resolved cost",
        )
        accepted = settlement.cost_line_ids.filtered(lambda c: c.source == "average")
        self.assertTrue(accepted, msg="accepted pre-fills are kept too")

    # -- access and companies --

    def test_user_without_accounting_rights_cannot_open(self):
        settlement = self._make_settlement(self.store_a, "S-ACL")
        self._missing(settlement, [UNKNOWN_SKU])
        with (
            mute_logger("odoo.addons.base.models.ir_actions"),
            self.assertRaises(AccessError),
        ):
            self._open(settlement, user=self.plain_user)
        with self.assertRaises(AccessError):
            self.env[WIZARD].with_user(self.plain_user)._action_open(settlement)
        self.assertTrue(self._open(settlement, user=self.bookkeeper).line_ids)

    def test_average_never_mixes_companies(self):
        settlement_a = self._make_settlement(self.store_a, "S-MC-A")
        settlement_b = self._make_settlement(self.store_b, "S-MC-B")
        self._missing(settlement_a, [ODOO_SKU])
        self._missing(settlement_b, [ODOO_SKU])
        cost_lines = self.env["goflow.cost.line"].search(
            [("state", "=", "missing"), ("sku", "=", ODOO_SKU)]
        )
        wizard = self._open(cost_lines, user=self.admin_user)
        rows = {row.company_id: row for row in wizard.sku_ids}
        self.assertEqual(len(rows), 2, msg="one row per company for the same SKU")
        self.assertEqual(rows[self.company_a].prefill_cost, 4.0, msg="A's costs only")
        self.assertEqual(rows[self.company_b].prefill_cost, 9.0, msg="B's costs only")
        only_b = self._open(settlement_b, user=self.bookkeeper_b)
        self.assertEqual(
            (only_b.sku_ids.prefill_cost, only_b.sku_ids.basis_text),
            (9.0, "average of 1 cost, last 90 days"),
        )
        with self.assertRaises(AccessError):
            self._open(settlement_b, user=self.bookkeeper)

    def test_settlement_form_has_the_button(self):
        settlement = self._make_settlement(self.store_a, "S-FORM")
        self._missing(settlement, [UNKNOWN_SKU])
        Settlement = self.env["connectbooks.settlement"].with_user(self.bookkeeper)
        arch = Settlement.get_view(view_type="form")["arch"]
        action = self.env.ref(ACTION_SETTLEMENT)
        self.assertIn(f'name="{action.id}"', arch)
        self.assertEqual(
            self.env.ref(ACTION_COST_LINE).binding_model_id.model, "goflow.cost.line"
        )
