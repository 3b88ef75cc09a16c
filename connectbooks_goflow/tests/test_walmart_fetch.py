"""Fetching settlements from Walmart: the marketplace sandbox over real HTTP
on loopback (token, availableReconFiles, reconFile), the importer, the
Goflow sandbox, and the records of what each fetch did."""

import base64
import io
import itertools
import tempfile
import unittest
import zipfile
from datetime import timedelta
from pathlib import Path

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged
from odoo.tests.common import JsonRpcException
from odoo.tools import mute_logger
from odoo.tools.misc import file_open

from ..models.connectbooks_store_fetch import CRON_MAX_WAIT
from .common import ConnectbooksCase, ConnectbooksRpcCase
from .sandbox import order, sandbox_module, walmart_sandbox_module

RECON = "connectbooks_goflow/tests/data/walmart_recon_small.csv"
# The settlement id of RECON: its payment period; 18 rows (and the payment
# summary), Total Payable 854.13.
REF = "20260301-20260314"
ROWS = 18
CLIENT_ID = "b6f1d9b0-test-0000-0000-walmart00001"
CLIENT_SECRET = "AKw-test-walmart-client-secret-00000000000000000001"
GOFLOW_TOKEN = "sandbox-walmart-token-5678"
MUTED = (
    "odoo.addons.connectbooks_goflow.models.connectbooks_store_fetch_run",
    "odoo.addons.connectbooks_goflow.models.connectbooks_store_fetch_walmart",
    "odoo.addons.connectbooks_goflow.models.connectbooks_marketplace_connection",
    "odoo.addons.connectbooks_goflow.core.walmart_client",
    "odoo.addons.connectbooks_goflow.core.http_policy",
    "odoo.addons.connectbooks_goflow.models.connectbooks_settlement_sync",
)


def walmart_dataset():
    """Goflow's orders of RECON, by customer order number."""
    return {
        "orders": [
            order(
                9101,
                "200015491736080",
                [("BLU-MUG-12OZ", 2, 6.25)],
                returns=[("BLU-MUG-12OZ", 1, 6.25)],
                store_id=8,
            ),
            order(
                9102,
                "200015500000001",
                [("TEA-TIN-50G", 1, 4.00), ("BLU-MUG-12OZ", 1, None)],
                store_id=8,
            ),
        ],
        "products": [
            {
                "id": 1,
                "item_number": "BLU-MUG-12OZ",
                "pricing": {"default_price": 12.99, "default_cost": 6.0},
            },
            {
                "id": 2,
                "item_number": "TEA-TIN-50G",
                "pricing": {"default_price": 12.99, "default_cost": 3.9},
            },
        ],
        "stores": [{"id": 8, "name": "Walmart US", "channel": "walmart_marketplace"}],
    }


class SteppedClock:
    """The Walmart sandbox's clock: every reading is ``step`` seconds after
    the previous one, so that a token expires between two calls."""

    def __init__(self, step):
        self._ticks = itertools.count()
        self.step = step

    def __call__(self):
        return next(self._ticks) * self.step


class WalmartFetchCase(ConnectbooksCase):
    """Walmart store W of company A, connected to a Goflow sandbox serving
    RECON's orders and, through a Walmart connection, to a marketplace
    sandbox started for each test."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        goflow = sandbox_module()
        walmart = walmart_sandbox_module()
        if goflow is None or walmart is None:
            raise unittest.SkipTest("the sandboxes (tools/) are not beside the add-on")
        SandboxServer, Dataset = goflow
        cls.MarketplaceSandbox, cls.WalmartApi = walmart
        cls.goflow = SandboxServer(
            Dataset.from_dict(walmart_dataset()), token=GOFLOW_TOKEN, page_size=10
        ).start()
        cls.addClassCleanup(cls.goflow.stop)
        cls.connection_a.write(
            {"base_url": cls.goflow.url, "api_token": GOFLOW_TOKEN, "rate_limit": 0}
        )
        with file_open(RECON, "rb") as handle:
            cls.recon = handle.read()
        cls.walmart_a = cls.env["connectbooks.walmart.connection"].create(
            {
                "name": "Walmart (A)",
                "company_id": cls.company_a.id,
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
            }
        )
        cls.store_w = cls._make_store(cls.company_a, cls.journal_a, "Walmart US A")
        cls.store_w.write(
            {
                "marketplace": "walmart",
                "goflow_connection_id": cls.connection_a.id,
                "walmart_connection_id": cls.walmart_a.id,
                "fetch_since": fields.Date.today() - timedelta(days=60),
                "fetch_enabled": True,
            }
        )

    def setUp(self):
        super().setUp()
        self.workdir = Path(tempfile.mkdtemp(prefix="cbg-walmart-test-"))
        self._serve()

    def _serve(self, **options):
        """Start a Walmart sandbox (a new one replaces the test's first)."""
        self.market = self.MarketplaceSandbox()
        self.api = self.market.mount(
            self.WalmartApi(
                client_id=CLIENT_ID,
                client_secret=CLIENT_SECRET,
                sample=False,
                workdir=self.workdir,
                **options,
            )
        )
        self.market.start()
        self.addCleanup(self.market.stop)
        self.walmart_a.write(
            {"base_url": self.api.base_url, "token_url": self.api.token_url}
        )

    # -- helpers --

    def _recon(self, year=2026, days_ago=10, total=None):
        """List RECON with its dates moved to ``year`` (another settlement)
        under the report date ``days_ago``; ``total`` changes its Total
        Payable and one WFS reimbursement to match."""
        content = self.recon.replace(b"/2026,", f"/{year},".encode())
        if total is not None:
            content = content.replace(b",854.13,", f",{total},".encode())
            adjusted = round(6.26 + float(total) - 854.13, 2)
            content = content.replace(b",6.26,", f",{adjusted:.2f},".encode())
        path = self.workdir / f"recon-{year}-{total}.csv"
        path.write_bytes(content)
        day = fields.Date.today() - timedelta(days=days_ago)
        return self.api.add_recon_file(path, report_date=day)

    def _ref(self, recon):
        return recon.report_date.strftime("%m%d%Y")

    def _settlements(self):
        return self.env["connectbooks.settlement"].search(
            [("store_id", "=", self.store_w.id)], order="settlement_ref"
        )

    def _record(self, recon):
        return self.env["connectbooks.marketplace.report"].search(
            [("store_id", "=", self.store_w.id), ("report_ref", "=", self._ref(recon))]
        )

    def _messages(self, record):
        return "\n".join(record.message_ids.mapped("body"))

    def _downloads(self):
        return len(
            self.market.requests_to("/v3/report/reconreport/reconFile", method="GET")
        )

    def _fetch(self):
        return self.store_w._fetch(False, CRON_MAX_WAIT)

    def _upload(self, data, name):
        attachment = self.env["ir.attachment"].create(
            {"name": name, "datas": base64.b64encode(data)}
        )
        wizard = self.env["connectbooks.settlement.import.wizard"].create(
            {"store_id": self.store_w.id, "attachment_ids": [(6, 0, attachment.ids)]}
        )
        action = wizard.action_import()
        return self.env["connectbooks.settlement"].browse(action["res_id"])


@tagged("post_install", "-at_install")
class TestWalmartFetch(WalmartFetchCase):
    @mute_logger(*MUTED)
    def test_new_dates_imported_once(self):
        first = self._recon(2025, days_ago=20)
        second = self._recon(2026, days_ago=6)
        result = self._fetch()
        self.assertEqual(
            (result.imported, result.failed, result.error),
            (["20250301-20250314", REF], 0, None),
            msg="both dates imported, oldest first",
        )
        settlement = self._settlements()[-1]
        self.assertEqual(settlement.settlement_ref, REF)
        self.assertEqual(settlement.source, "walmart")
        self.assertEqual(settlement.layout, "walmart_recon_v1")
        self.assertEqual(settlement.walmart_report_date, second.report_date)
        self.assertEqual(settlement.line_count, ROWS, msg="imported whole")
        self.assertEqual(settlement.total_amount, 854.13)
        self.assertTrue(settlement.balanced)
        self.assertTrue(settlement.last_sync_at, msg="synced with Goflow after")
        self.assertEqual(settlement.cost_status, "missing", msg="one cost is missing")
        for recon in (first, second):
            record = self._record(recon)
            self.assertEqual(
                (record.state, record.attempt_count), ("imported", 1), msg=recon
            )
            self.assertEqual(record.created_time.date(), recon.report_date)
        self.assertEqual(self._record(second).settlement_id, settlement)
        self.assertIn(
            "2 settlement(s) imported from Walmart", self._messages(self.store_w)
        )
        # Walmart's headers: a fresh correlation id per request, the service name.
        self.assertEqual(
            len(set(self.api.correlation_ids)), len(self.api.correlation_ids)
        )
        self.assertEqual(set(self.api.service_names), {"Walmart Marketplace"})
        downloads = self._downloads()
        again = self._fetch()
        self.assertEqual(
            (again.imported, again.matched, again.failed, again.error),
            ([], 0, 0, None),
            msg="the second fetch imports nothing",
        )
        self.assertEqual(self._downloads(), downloads, msg="nothing downloaded again")
        self.assertEqual(len(self._settlements()), 2)

    @mute_logger(*MUTED)
    def test_cron_takes_walmart_and_amazon_stores(self):
        self._recon()
        stores = self.env["connectbooks.store"].search(
            self.env["connectbooks.store"]._cron_fetch_domain()
        )
        self.assertIn(self.store_w, stores)
        self.env["connectbooks.store"]._cron_fetch_settlements()
        self.assertEqual(self._settlements().settlement_ref, REF)
        self.assertTrue(self.store_w.last_fetch_at)
        self.assertNotIn(
            self.store_w,
            self.env["connectbooks.store"].search(
                self.env["connectbooks.store"]._cron_fetch_domain()
            ),
            msg="within the retry delay the cron leaves the store alone",
        )

    @mute_logger(*MUTED)
    def test_only_dates_since_the_store_date(self):
        self._recon(2025, days_ago=100)
        self._recon(2026, days_ago=3)
        self.assertEqual(self._fetch().imported, [REF])

    @mute_logger(*MUTED)
    def test_failed_download_recorded_and_retried(self):
        recon = self._recon()
        self.api.corrupt_next_download("truncate")
        result = self._fetch()
        self.assertEqual((result.imported, result.failed), ([], 1))
        self.assertFalse(self._settlements(), msg="nothing half-written")
        record = self._record(recon)
        self.assertEqual(record.state, "failed")
        self.assertIn("downloaded again", record.message)
        self.assertIn("tried again", self._messages(self.store_w))
        result = self._fetch()
        self.assertEqual(result.imported, [REF], msg="the next run takes it")
        self.assertEqual((record.state, record.attempt_count), ("imported", 2))
        self.assertEqual(self._settlements().line_count, ROWS)

    @mute_logger(*MUTED)
    def test_expired_token_renewed(self):
        """Walmart expires the token between the listing and the download:
        401, the client obtains a new token once and goes on."""
        self._serve(clock=SteppedClock(600.0))  # a 900 s token, 600 s a call
        self._recon()
        result = self._fetch()
        self.assertEqual((result.imported, result.error), ([REF], None))
        self.assertEqual(len(self.market.requests_to("/v3/token")), 2)
        statuses = [
            r.status
            for r in self.market.requests_to("/v3/report/reconreport/reconFile")
        ]
        self.assertEqual(statuses, [401, 200], msg="refused once, then served")

    @mute_logger(*MUTED)
    def test_throttled_stops_and_continues_next_run(self):
        first = self._recon(2025, days_ago=20)
        second = self._recon(2026, days_ago=10)
        # One file now, the next in an hour: Walmart answers 429 with a
        # Retry-After the cron does not wait for.
        self.api.retry_after = 3600
        self.api.set_rate_limits({"reconFile": (1 / 3600, 1)})
        result = self._fetch()
        self.assertTrue(result.throttled)
        self.assertEqual(result.imported, ["20250301-20250314"], msg="oldest first")
        self.assertEqual(self._record(first).state, "imported")
        self.assertFalse(self._record(second), msg="not failed: not tried yet")
        self.assertIn("continues at the next run", self._messages(self.store_w))
        self.api.set_rate_limits(None)
        self.assertEqual(self._fetch().imported, [REF])

    @mute_logger(*MUTED)
    def test_uploaded_zip_then_listed_is_matched(self):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("10000000001_03142026.csv", self.recon)
        uploaded = self._upload(buffer.getvalue(), "recon-03142026.zip")
        self.assertEqual(uploaded.settlement_ref, REF)
        recon = self._recon()
        result = self._fetch()
        self.assertEqual((result.imported, result.matched), ([], 1))
        self.assertEqual(self._settlements(), uploaded, msg="no second settlement")
        self.assertEqual(uploaded.source, "upload", msg="it stays an upload")
        self.assertEqual(
            (self._record(recon).state, self._record(recon).settlement_id),
            ("matched", uploaded),
        )

    @mute_logger(*MUTED)
    def test_reissued_with_another_total_is_flagged(self):
        uploaded = self._upload(self.recon, "recon.csv")
        recon = self._recon(total="860.00")
        result = self._fetch()
        self.assertEqual((result.imported, result.reissued), ([], 1))
        self.assertEqual(self._record(recon).state, "reissued")
        self.assertIn("Walmart reissued", self._messages(uploaded))
        self.assertEqual(uploaded.total_amount, 854.13, msg="the books unchanged")
        uploaded.unlink()
        self.assertEqual(self._fetch().imported, [REF], msg="taken once deleted")
        self.assertEqual(self._settlements().total_amount, 860.0)

    @mute_logger(*MUTED)
    def test_button_raises_in_plain_words(self):
        self._recon()
        self.api.deny_access = True
        with self.assertRaisesRegex(UserError, "Reports permission"):
            self.store_w.with_user(self.bookkeeper).action_fetch_settlements()
        self.api.deny_access = False
        self.walmart_a.client_secret = "AKw-wrong-secret-000000000000000000000000"
        with self.assertRaises(UserError) as caught:
            self.store_w.with_user(self.bookkeeper).action_fetch_settlements()
        self.assertIn("client secret", str(caught.exception))
        self.assertNotIn("AKw-wrong-secret", str(caught.exception))

    @mute_logger(*MUTED)
    def test_connection_test(self):
        self._recon()
        action = self.walmart_a.with_user(self.manager).action_test_connection()
        self.assertIn("1 reconciliation report(s)", action["params"]["message"])
        self.assertTrue(self.walmart_a.last_test_at)
        self.walmart_a.client_secret = "AKw-wrong-secret-000000000000000000000000"
        with self.assertRaisesRegex(UserError, "Developer Portal"):
            self.walmart_a.action_test_connection()
        self.assertIn("client secret", self.walmart_a.last_test_message)
        self.assertNotIn("AKw-wrong-secret", self.walmart_a.last_test_message)

    def test_fetch_needs_a_connection(self):
        with self.assertRaises(UserError):
            self.store_w.write({"walmart_connection_id": False})
        other = self._make_store(self.company_a, self.journal_a, "Other A")
        other.marketplace = "other"
        with self.assertRaises(UserError):
            other.fetch_enabled = True
        self.assertFalse(other.fetch_connected)
        self.assertTrue(self.store_w.fetch_connected)

    def test_addresses_checked_like_the_client(self):
        with self.assertRaises(UserError):
            self.walmart_a.base_url = "http://marketplace.walmartapis.example.com"
        with self.assertRaises(UserError):
            self.walmart_a.token_url = "ftp://127.0.0.1/v3/token"


@tagged("post_install", "-at_install")
class TestWalmartConnectionAccess(WalmartFetchCase):
    def test_bookkeeper_cannot_read_secrets(self):
        connection = self.walmart_a.with_user(self.bookkeeper)
        self.assertEqual(connection.name, "Walmart (A)", msg="the name is readable")
        self.assertTrue(connection.has_credentials)
        self._assert_secrets_out_of_reach(
            connection, ("client_id", "client_secret", "base_url", "token_url")
        )

    def test_test_connection_needs_write(self):
        with self.assertRaises(AccessError):
            self.walmart_a.with_user(self.bookkeeper).action_test_connection()
        self.assertFalse(self.walmart_a.last_test_at)

    def test_company_isolation(self):
        env_b = self.env(user=self.bookkeeper_b)
        self.assertFalse(env_b["connectbooks.walmart.connection"].search([]))
        with self.assertRaises(AccessError):
            self.walmart_a.with_user(self.bookkeeper_b).read(["name"])
        with self.assertRaises(UserError, msg="another company's connection"):
            self.store_b.walmart_connection_id = self.walmart_a

    def test_plain_user_cannot_fetch(self):
        with self.assertRaises(AccessError):
            self.store_w.with_user(self.plain_user).action_fetch_settlements()


@tagged("post_install", "-at_install")
class TestWalmartConnectionRpc(ConnectbooksRpcCase, WalmartFetchCase):
    def test_bookkeeper_cannot_read_secrets_over_rpc(self):
        self.authenticate("cbg_bookkeeper", "cbg_bookkeeper")
        self._assert_secrets_out_of_reach_over_rpc(
            self.walmart_a, ("client_secret", "client_id", "base_url", "token_url")
        )
        rows = self._call_kw(
            "connectbooks.walmart.connection",
            "search_read",
            [[], ["name", "has_credentials"]],
        )
        self.assertEqual([row["name"] for row in rows], ["Walmart (A)"])
        for row in rows:
            self.assertNotIn("client_secret", row)

    def test_bookkeeper_cannot_test_connection_over_rpc(self):
        self.authenticate("cbg_bookkeeper", "cbg_bookkeeper")
        with self.assertRaises(JsonRpcException) as caught:
            self._call_kw(
                "connectbooks.walmart.connection",
                "action_test_connection",
                [[self.walmart_a.id]],
            )
        self.assertIn("AccessError", str(caught.exception))
        self.walmart_a.invalidate_recordset()
        self.assertFalse(self.walmart_a.last_test_at, msg="nothing written")
