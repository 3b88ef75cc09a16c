"""Fetching settlements from Amazon: the marketplace sandbox over real HTTP
on loopback, the importer, the Goflow sandbox, and the records of what
each fetch did."""

import tempfile
import unittest
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged
from odoo.tests.common import JsonRpcException
from odoo.tools import mute_logger
from odoo.tools.misc import file_open

from ..models.connectbooks_store_fetch import CRON_MAX_WAIT
from .common import ConnectbooksRpcCase
from .sandbox import marketplace_sandbox_module
from .test_cost_sync import SMALL, GoflowSandboxCase

REF = "24010823451"  # the settlement id of tests/data/amazon_v2_small.txt
MARKETPLACE = "ATVPDKIKX0DER"
CLIENT_ID = "amzn1.application-oa2-client.test0000000000000001"
CLIENT_SECRET = "amzn1.oa2-cs.v1.test-client-secret-0000000000000001"
REFRESH_TOKEN = "Atzr|test-refresh-token-00000000000000000001"
SECRETS = (CLIENT_SECRET, REFRESH_TOKEN)
MUTED = (
    "odoo.addons.connectbooks_goflow.models.connectbooks_store_fetch_run",
    "odoo.addons.connectbooks_goflow.models.connectbooks_marketplace_connection",
    "odoo.addons.connectbooks_goflow.core.amazon_client",
    "odoo.addons.connectbooks_goflow.core.http_policy",
    "odoo.addons.connectbooks_goflow.models.connectbooks_settlement_sync",
)


class AmazonFetchCase(GoflowSandboxCase):
    """Store A connected to the Goflow sandbox (small data set) and, through
    an Amazon connection, to a marketplace sandbox started for each test;
    a second store of company A on a connection whose refresh token Amazon
    refuses; store B in company B."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        module = marketplace_sandbox_module()
        if module is None:
            raise unittest.SkipTest(
                "the marketplace sandbox (tools/) is not beside the add-on"
            )
        cls.MarketplaceSandbox, cls.AmazonApi = module
        with file_open(SMALL, "rb") as handle:
            cls.small = handle.read()
        Connection = cls.env["connectbooks.amazon.connection"]
        cls.amazon_a = Connection.create(
            {
                "name": "Amazon NA (A)",
                "company_id": cls.company_a.id,
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "refresh_token": REFRESH_TOKEN,
            }
        )
        cls.amazon_revoked = Connection.create(
            {
                "name": "Amazon NA revoked (A)",
                "company_id": cls.company_a.id,
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "refresh_token": "Atzr|revoked-refresh-token-000000000000000",
            }
        )
        cls.amazon_b = Connection.create(
            {
                "name": "Amazon NA (B)",
                "company_id": cls.company_b.id,
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "refresh_token": REFRESH_TOKEN,
            }
        )
        since = fields.Date.today() - timedelta(days=60)
        fetch = {
            "amazon_marketplace_ids": MARKETPLACE,
            "fetch_since": since,
            "fetch_enabled": True,
        }
        cls.store_a.write({"amazon_connection_id": cls.amazon_a.id, **fetch})
        cls.store_a2 = cls._make_store(cls.company_a, cls.journal_a, "Amazon CA A")
        cls.store_a2.write({"amazon_connection_id": cls.amazon_revoked.id, **fetch})
        cls.store_b.write({"amazon_connection_id": cls.amazon_b.id, **fetch})

    def setUp(self):
        super().setUp()
        self.workdir = Path(tempfile.mkdtemp(prefix="cbg-amazon-test-"))
        self.market = self.MarketplaceSandbox()
        self.api = self.market.mount(
            self.AmazonApi(
                client_id=CLIENT_ID,
                client_secret=CLIENT_SECRET,
                refresh_token=REFRESH_TOKEN,
                rate_limits=None,
                retry_after=True,
                marketplace_id=MARKETPLACE,
                workdir=self.workdir,
            )
        )
        self.market.start()
        self.addCleanup(self.market.stop)
        for connection in self.amazon_a | self.amazon_revoked | self.amazon_b:
            connection.write(
                {"endpoint": self.market.url, "token_url": self.api.token_url}
            )
        self.now = datetime.now(timezone.utc)

    # -- helpers --

    def _report(self, ref=REF, total=None, days_ago=10, **options):
        """List a settlement report of tests/data/amazon_v2_small.txt with
        another settlement id (and total)."""
        content = self.small.replace(REF.encode(), ref.encode())
        if total is not None:
            # Another total, and the reserve released changed to match it.
            content = content.replace(b"\t127.20\tUSD", f"\t{total}\tUSD".encode())
            released = Decimal("1250.00") + Decimal(total) - Decimal("127.20")
            content = content.replace(b"\t1250.00\t", f"\t{released}\t".encode())
        path = self.workdir / f"settlement-{ref}-{total}.txt"
        path.write_bytes(content)
        return self.api.add_report(
            path, created_time=self.now - timedelta(days=days_ago), **options
        )

    def _settlements(self, store=None):
        return self.env["connectbooks.settlement"].search(
            [("store_id", "=", (store or self.store_a).id)]
        )

    def _record(self, report, store=None):
        return self.env["connectbooks.marketplace.report"].search(
            [
                ("store_id", "=", (store or self.store_a).id),
                ("report_ref", "=", report.report_id),
            ]
        )

    def _messages(self, record):
        return "\n".join(record.message_ids.mapped("body"))

    def _downloads(self):
        return len(self.market.requests_to("/storage/", method="GET"))

    def _fetch(self, store=None):
        return (store or self.store_a)._fetch(False, CRON_MAX_WAIT)


@tagged("post_install", "-at_install")
class TestAmazonFetch(AmazonFetchCase):
    @mute_logger(*MUTED)
    def test_cron_over_two_stores_one_failing(self):
        report = self._report()
        self.env["connectbooks.store"]._cron_fetch_settlements()
        settlement = self._settlements()
        self.assertEqual(len(settlement), 1, msg="store A imported its settlement")
        self.assertEqual(settlement.settlement_ref, REF)
        self.assertEqual(settlement.source, "amazon")
        self.assertEqual(settlement.amazon_report_ref, report.report_id)
        self.assertEqual(settlement.amazon_document_ref, report.document_id)
        self.assertEqual(settlement.line_count, 34, msg="imported whole")
        self.assertTrue(settlement.last_sync_at, msg="synced with Goflow after")
        self.assertNotEqual(settlement.cost_status, "not_synced")
        record = self._record(report)
        self.assertEqual(
            (record.state, record.settlement_id, record.attempt_count),
            ("imported", settlement, 1),
        )
        self.assertFalse(self._settlements(self.store_a2), msg="store A2 failed")
        self.assertIn("refresh token", self._messages(self.store_a2))
        self.assertTrue(self.store_a2.last_fetch_at, msg="tried, stamped")
        for text in (self._messages(self.store_a2), self._messages(self.store_a)):
            for secret in SECRETS:
                self.assertNotIn(secret, text, msg="no secret in the chatter")
        self.assertEqual(
            self._settlements(self.store_b).company_id,
            self.company_b,
            msg="the cron fetches every company's stores",
        )
        # Within the retry delay the cron leaves the stores alone.
        self.assertFalse(
            self.env["connectbooks.store"].search(
                self.env["connectbooks.store"]._cron_fetch_domain()
            )
        )

    @mute_logger(*MUTED)
    def test_second_run_is_idempotent(self):
        self._report()
        self._report("24010823452", days_ago=5)
        first = self._fetch()
        self.assertEqual(sorted(first.imported), [REF, "24010823452"])
        downloads = self._downloads()
        second = self._fetch()
        self.assertEqual(
            (second.imported, second.matched, second.failed, second.error),
            ([], 0, 0, None),
        )
        self.assertEqual(self._downloads(), downloads, msg="nothing downloaded again")
        self.assertEqual(len(self._settlements()), 2)
        self.assertEqual(len(self.store_a.marketplace_report_ids), 2)

    @mute_logger(*MUTED)
    def test_hand_uploaded_then_listed_is_matched(self):
        uploaded = self._import()
        report = self._report()
        result = self._fetch()
        self.assertEqual((result.imported, result.matched), ([], 1))
        self.assertEqual(self._settlements(), uploaded, msg="no second settlement")
        self.assertEqual(uploaded.source, "upload", msg="it stays an upload")
        record = self._record(report)
        self.assertEqual((record.state, record.settlement_id), ("matched", uploaded))
        self.assertNotIn("failed", self._messages(self.store_a))

    @mute_logger(*MUTED)
    def test_reissued_with_another_total_is_flagged(self):
        uploaded = self._import()
        report = self._report(total="130.00")
        result = self._fetch()
        self.assertEqual((result.imported, result.reissued), ([], 1))
        record = self._record(report)
        self.assertEqual((record.state, record.settlement_id), ("reissued", uploaded))
        self.assertIn("reissued", self._messages(self.store_a))
        self.assertIn("130.00", self._messages(self.store_a))
        self.assertIn("reissued", self._messages(uploaded))
        self.assertEqual(uploaded.total_amount, 127.20, msg="the books unchanged")
        # Flagged once: not downloaded again.
        downloads = self._downloads()
        self._fetch()
        self.assertEqual(self._downloads(), downloads)
        # The bookkeeper deletes the old settlement: the reissue comes in.
        uploaded.unlink()
        result = self._fetch()
        self.assertEqual(result.imported, [REF])
        self.assertEqual(self._settlements().total_amount, 130.0)
        self.assertEqual((record.state, record.attempt_count), ("imported", 2))

    @mute_logger(*MUTED)
    def test_corrupt_gzip_writes_nothing_and_is_retried(self):
        report = self._report()
        self.api.corrupt_next_download("flip")
        result = self._fetch()
        self.assertEqual((result.imported, result.failed), ([], 1))
        self.assertFalse(self._settlements(), msg="nothing half-written")
        self.assertFalse(
            self.env["connectbooks.settlement.line"].search_count(
                [("settlement_id.store_id", "=", self.store_a.id)]
            )
        )
        record = self._record(report)
        self.assertEqual(record.state, "failed")
        self.assertIn("corrupt", record.message)
        self.assertIn("tried again", self._messages(self.store_a))
        # The next run downloads it again, and imports it.
        result = self._fetch()
        self.assertEqual(result.imported, [REF])
        self.assertEqual((record.state, record.attempt_count), ("imported", 2))
        self.assertEqual(self._settlements().line_count, 34)

    @mute_logger(*MUTED)
    def test_file_the_importer_refuses_fails_only_itself(self):
        bad = self.workdir / "bad.txt"
        bad.write_bytes(
            self.small.replace(REF.encode(), b"24010823459").replace(
                b"\t39.98\t", b"\tforty\t"
            )
        )
        refused = self.api.add_report(bad, created_time=self.now - timedelta(days=20))
        self._report()
        result = self._fetch()
        self.assertEqual((result.imported, result.failed), ([REF], 1))
        self.assertEqual(self._record(refused).state, "failed")
        self.assertEqual(self._settlements().settlement_ref, REF)

    @mute_logger(*MUTED)
    def test_throttled_continues_next_run(self):
        first = self._report(days_ago=20)
        second = self._report("24010823452", days_ago=10)
        # One document now, the next in an hour: Amazon answers 429 with a
        # Retry-After the cron does not wait for.
        self.api.set_rate_limits({"getReportDocument": (1 / 3600, 1)})
        started = datetime.now()
        result = self._fetch()
        self.assertLess(
            (datetime.now() - started).total_seconds(), 30, msg="no long sleep"
        )
        self.assertTrue(result.throttled)
        self.assertEqual(result.imported, [REF], msg="the oldest one first")
        self.assertEqual(self._record(first).state, "imported")
        self.assertFalse(self._record(second), msg="not failed: not tried yet")
        self.assertIn("continues at the next run", self._messages(self.store_a))
        self.api.set_rate_limits(None)
        result = self._fetch()
        self.assertEqual(result.imported, ["24010823452"])
        self.assertEqual(len(self._settlements()), 2)

    @mute_logger(*MUTED)
    def test_only_reports_since_the_store_date(self):
        self._report(days_ago=100)
        self._report("24010823452", days_ago=2)
        result = self._fetch()
        self.assertEqual(result.imported, ["24010823452"])

    @mute_logger(*MUTED)
    def test_without_a_date_the_last_90_days(self):
        self.store_a.fetch_since = False
        self._report(days_ago=100)
        self._report("24010823452", days_ago=80)
        result = self._fetch()
        self.assertEqual((result.imported, result.error), (["24010823452"], None))

    @mute_logger(*MUTED)
    def test_button_raises_in_plain_words(self):
        self._report()
        with self.assertRaisesRegex(UserError, "refresh token"):
            self.store_a2.with_user(self.bookkeeper).action_fetch_settlements()
        self.api.revoke_refresh_token()
        with self.assertRaisesRegex(UserError, "revoked"):
            self.store_a.with_user(self.bookkeeper).action_fetch_settlements()

    @mute_logger(*MUTED)
    def test_bookkeeper_fetches_from_the_list(self):
        self._report()
        action = (
            self.env["connectbooks.settlement"]
            .with_user(self.bookkeeper)
            .action_fetch_settlements()
        )
        self.assertEqual(action["tag"], "display_notification")
        self.assertIn("1 settlement(s) imported", action["params"]["message"])
        self.assertEqual(self._settlements().create_uid, self.bookkeeper)
        self.assertFalse(self._settlements(self.store_b), msg="other company left")

    @mute_logger(*MUTED)
    def test_connection_test_in_plain_words(self):
        self._report()
        action = self.amazon_a.with_user(self.manager).action_test_connection()
        self.assertIn("1 settlement report", action["params"]["message"])
        self.amazon_a.client_secret = "amzn1.oa2-cs.v1.wrong-secret-000000000000000"
        with self.assertRaisesRegex(UserError, "client secret"):
            self.amazon_a.action_test_connection()
        self.amazon_a.client_secret = CLIENT_SECRET
        self.api.deny_access = True
        with self.assertRaisesRegex(UserError, "region"):
            self.amazon_a.action_test_connection()
        self.api.deny_access = False
        self.api.revoke_refresh_token()
        with self.assertRaises(UserError) as caught:
            self.amazon_a.action_test_connection()
        self.assertIn("refresh token", str(caught.exception))
        for secret in SECRETS:
            self.assertNotIn(secret, str(caught.exception))
            self.assertNotIn(secret, self.amazon_a.last_test_message)


@tagged("post_install", "-at_install")
class TestAmazonFetchAccess(AmazonFetchCase):
    def test_bookkeeper_cannot_read_secrets(self):
        connection = self.amazon_a.with_user(self.bookkeeper)
        self.assertEqual(connection.name, "Amazon NA (A)", msg="the name is readable")
        self.assertTrue(connection.has_credentials)
        self._assert_secrets_out_of_reach(
            connection, ("client_id", "client_secret", "refresh_token", "endpoint")
        )
        with self.assertRaises(AccessError):
            connection.action_test_connection()

    def test_plain_user_cannot_fetch(self):
        with self.assertRaises(AccessError):
            self.store_a.with_user(self.plain_user).action_fetch_settlements()

    @mute_logger(*MUTED)
    def test_company_isolation(self):
        self._report()
        self._fetch()
        self.assertTrue(self.store_a.marketplace_report_ids)
        env_b = self.env(user=self.bookkeeper_b)
        for model, own in (
            ("connectbooks.amazon.connection", self.amazon_b),
            ("connectbooks.store", self.store_b),
            (
                "connectbooks.marketplace.report",
                self.env["connectbooks.marketplace.report"],
            ),
        ):
            self.assertEqual(env_b[model].search([]), own, msg=model)
        with self.assertRaises(AccessError):
            self.store_a.with_user(self.bookkeeper_b).action_fetch_settlements()
        with self.assertRaises(AccessError):
            self.store_a.marketplace_report_ids.with_user(self.bookkeeper_b).read(
                ["state"]
            )
        # A store cannot take another company's connection.
        with self.assertRaises(UserError):
            self.store_b.amazon_connection_id = self.amazon_a

    def test_marketplace_ids_checked(self):
        with self.assertRaises(UserError):
            self.store_a.amazon_marketplace_ids = "ATVPDKIKX0DER, not-an-id"
        with self.assertRaises(UserError):
            self.store_a.write({"amazon_marketplace_ids": False, "fetch_enabled": True})
        self.store_a.amazon_marketplace_ids = "ATVPDKIKX0DER; A2EUQ1WTGCTBG2"
        self.assertEqual(
            self.store_a._amazon_marketplace_list(), [MARKETPLACE, "A2EUQ1WTGCTBG2"]
        )

    def test_endpoint_must_be_https_off_loopback(self):
        with self.assertRaises(UserError):
            self.amazon_a.endpoint = "http://sellingpartnerapi.example.com"


@tagged("post_install", "-at_install")
class TestAmazonFetchRpc(ConnectbooksRpcCase, AmazonFetchCase):
    def test_bookkeeper_cannot_read_secrets_over_rpc(self):
        self.authenticate("cbg_bookkeeper", "cbg_bookkeeper")
        self._assert_secrets_out_of_reach_over_rpc(
            self.amazon_a, ("client_secret", "refresh_token", "client_id", "token_url")
        )
        rows = self._call_kw(
            "connectbooks.amazon.connection", "search_read", [[], ["name", "region"]]
        )
        self.assertEqual(
            [row["name"] for row in rows], ["Amazon NA (A)", "Amazon NA revoked (A)"]
        )
        for row in rows:
            self.assertNotIn("client_secret", row)

    @mute_logger(*MUTED)
    def test_other_company_cannot_fetch_over_rpc(self):
        self._report()
        self.authenticate("cbg_bookkeeper_b", "cbg_bookkeeper_b")
        with self.assertRaises(JsonRpcException):
            self._call_kw(
                "connectbooks.store",
                "action_fetch_settlements",
                [[self.store_a.id]],
                context={"allowed_company_ids": [self.company_a.id]},
            )
        self.assertFalse(self._settlements(), msg="nothing fetched for store A")

    @mute_logger(*MUTED)
    def test_private_fetch_not_callable(self):
        self.authenticate("cbg_bookkeeper", "cbg_bookkeeper")
        with self.assertRaises(JsonRpcException):
            self._call_kw("connectbooks.store", "_fetch", [[self.store_a.id], False, 5])

    @mute_logger(*MUTED)
    def test_fetch_settlements_tour(self):
        """The bookkeeper presses Fetch Settlements on the settlement list."""
        self._report()
        self.bookkeeper.company_ids = [Command.set(self.company_a.ids)]
        self.start_tour(
            "/odoo", "connectbooks_goflow_fetch_tour", login="cbg_bookkeeper"
        )
        settlement = self._settlements()
        self.assertEqual(settlement.settlement_ref, REF)
        self.assertEqual(settlement.source, "amazon")
