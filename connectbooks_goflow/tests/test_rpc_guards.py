"""What a logged-in user can do by calling the JSON-RPC API directly, the way
an attacker would: every argument, the context included, is theirs to set."""

from odoo.tests import tagged
from odoo.tests.common import JsonRpcException

from .common import ConnectbooksCase, ConnectbooksRpcCase


@tagged("post_install", "-at_install")
class TestRpcGuards(ConnectbooksRpcCase, ConnectbooksCase):
    def test_bookkeeper_cannot_forge_posted_state(self):
        settlement = self._make_settlement(self.store_a, ref="RPC-1")
        self.authenticate("cbg_bookkeeper", "cbg_bookkeeper")
        forged = {"connectbooks_posting": True, "posting": True, "force": True}
        for vals in (
            {"state": "posted"},
            {"posted_with_estimates": True},
            {"move_id": False, "state": "posted"},
        ):
            with self.assertRaises(JsonRpcException, msg=f"forged write {vals}"):
                self._call_kw(
                    "connectbooks.settlement",
                    "write",
                    [[settlement.id], vals],
                    context=forged,
                )
        settlement.invalidate_recordset()
        self.assertEqual(settlement.state, "draft", msg="the settlement is unchanged")
        self.assertFalse(settlement.move_id)
        self.assertFalse(settlement.posted_with_estimates)

    def test_private_posting_writer_not_callable(self):
        settlement = self._make_settlement(self.store_a, ref="RPC-2")
        self.authenticate("cbg_bookkeeper", "cbg_bookkeeper")
        with self.assertRaises(JsonRpcException, msg="private methods are not RPC"):
            self._call_kw(
                "connectbooks.settlement",
                "_write_posting_fields",
                [[settlement.id], {"state": "posted"}],
            )
        settlement.invalidate_recordset()
        self.assertEqual(settlement.state, "draft")

    def test_bookkeeper_cannot_post(self):
        settlement = self._make_settlement(self.store_a, ref="RPC-3")
        self.authenticate("cbg_bookkeeper", "cbg_bookkeeper")
        with self.assertRaises(JsonRpcException, msg="posting is a manager's"):
            self._call_kw("connectbooks.settlement", "action_post", [[settlement.id]])
        settlement.invalidate_recordset()
        self.assertEqual(settlement.state, "draft")

    def test_bookkeeper_cannot_test_connection(self):
        """Testing a connection writes its result on it: a user who may only
        read the connection may not press it."""
        self.authenticate("cbg_bookkeeper", "cbg_bookkeeper")
        with self.assertRaises(JsonRpcException) as caught:
            self._call_kw(
                "goflow.connection", "action_test_connection", [[self.connection_a.id]]
            )
        self.assertIn("AccessError", str(caught.exception))
        self.connection_a.invalidate_recordset()
        self.assertFalse(self.connection_a.last_test_at)
