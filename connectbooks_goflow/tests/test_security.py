from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import ConnectbooksCase


@tagged("post_install", "-at_install")
class TestSecurity(ConnectbooksCase):
    def test_token_hidden_from_bookkeeper(self):
        connection = self.connection_a.with_user(self.bookkeeper)
        self.assertEqual(
            connection.name, "Goflow A", msg="the connection itself is readable"
        )
        with self.assertRaises(AccessError, msg="a bookkeeper must not read the token"):
            connection.read(["api_token"])
        with self.assertRaises(AccessError, msg="nor the beta contact e-mail"):
            connection.read(["beta_contact"])

    def test_token_hidden_from_accounting_manager(self):
        with self.assertRaises(AccessError, msg="only administrators read the token"):
            self.connection_a.with_user(self.manager).read(["api_token"])

    def test_base_url_is_for_administrators(self):
        # the token is sent to the base URL: a manager must not redirect it
        with self.assertRaises(AccessError):
            self.connection_a.with_user(self.manager).write(
                {"base_url": "https://collector.example/v1"}
            )
        with self.assertRaises(AccessError):
            self.connection_a.with_user(self.manager).read(["base_url"])

    def test_token_readable_by_administrator(self):
        values = self.connection_a.with_user(self.admin_user).read(["api_token"])
        self.assertEqual(values[0]["api_token"], "secret-token-a")

    def test_has_token_visible_to_bookkeeper(self):
        self.assertTrue(self.connection_a.with_user(self.bookkeeper).has_token)

    def test_company_isolation(self):
        settlement_a = self._make_settlement(self.store_a, ref="A-1")
        self.env["goflow.cost.line"].create(
            {
                "settlement_id": settlement_a.id,
                "kind": "order",
                "order_ref": "111-0000000-0000001",
                "sku": "SKU-1",
                "quantity": 1,
            }
        )
        env_b = self.env(user=self.bookkeeper_b)
        self.assertFalse(
            env_b["connectbooks.settlement"].search([("id", "=", settlement_a.id)]),
            msg="company B must not see company A's settlements",
        )
        self.assertFalse(
            env_b["connectbooks.store"].search([("id", "=", self.store_a.id)]),
            msg="company B must not see company A's stores",
        )
        self.assertFalse(
            env_b["goflow.cost.line"].search([("settlement_id", "=", settlement_a.id)]),
            msg="company B must not see company A's cost lines",
        )
        with self.assertRaises(AccessError):
            settlement_a.with_user(self.bookkeeper_b).read(["settlement_ref"])
        # lines and cost lines reach their company through the settlement
        line = self.env["connectbooks.settlement.line"].create(
            {"settlement_id": settlement_a.id, "kind": "fee", "amount": -1.0}
        )
        self.assertFalse(
            env_b["connectbooks.settlement.line"].search([("id", "=", line.id)]),
            msg="company B must not see company A's settlement lines",
        )
        with self.assertRaises(AccessError):
            line.with_user(self.bookkeeper_b).read(["amount"])
        env_a = self.env(user=self.bookkeeper)
        self.assertEqual(
            env_a["connectbooks.settlement.line"].search([("id", "=", line.id)]), line
        )
        self.assertEqual(
            len(
                env_a["goflow.cost.line"].search(
                    [("settlement_id", "=", settlement_a.id)]
                )
            ),
            1,
        )

    def test_plain_user_has_no_access(self):
        settlement = self._make_settlement(self.store_a, ref="A-2")
        with self.assertRaises(AccessError, msg="no accounting rights, no settlements"):
            settlement.with_user(self.plain_user).read(["settlement_ref"])
