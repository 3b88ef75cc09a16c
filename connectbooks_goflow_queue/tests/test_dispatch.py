"""With the job queue: the scheduled actions and the buttons for many
records enqueue one job per record, in the channel of its remote account;
the jobs retry transient failures and fail permanent ones with their
message."""

from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.connectbooks_goflow.core.goflow_client import (
    GoflowAuthError,
    GoflowNetworkError,
    GoflowThrottledError,
)
from odoo.addons.connectbooks_goflow.core.walmart_client import (
    WalmartAuthError,
    WalmartNetworkError,
    WalmartServerError,
    WalmartThrottledError,
)
from odoo.addons.connectbooks_goflow.models.connectbooks_settlement_sync import (
    SYNC_LOCK_KEY,
)
from odoo.addons.connectbooks_goflow.tests.test_amazon_fetch import (
    MUTED,
    AmazonFetchCase,
)
from odoo.addons.connectbooks_goflow.tests.test_cost_sync import GoflowSandboxCase
from odoo.addons.connectbooks_goflow.tests.test_walmart_fetch import (
    MUTED as WALMART_MUTED,
)
from odoo.addons.connectbooks_goflow.tests.test_walmart_fetch import (
    REF as WALMART_REF,
)
from odoo.addons.connectbooks_goflow.tests.test_walmart_fetch import (
    WalmartFetchCase,
)
from odoo.addons.connectbooks_goflow_queue import post_init_hook
from odoo.addons.queue_job.exception import RetryableJobError
from odoo.addons.queue_job.job import Job

SYNC_LOGGER = "odoo.addons.connectbooks_goflow.models.connectbooks_settlement_sync"


class JobsCase:
    """Reading the jobs this add-on stored."""

    def _jobs(self, method, records=None):
        jobs = self.env["queue.job"].search(
            [("method_name", "=", method), ("state", "!=", "done")], order="id"
        )
        if records is not None:
            jobs = jobs.filtered(lambda job: job.records == records)
        return jobs

    @staticmethod
    def _records(jobs):
        """The records of ``jobs``, as one recordset."""
        records = [job.records for job in jobs]
        return sum(records[1:], records[0]) if records else None

    def _perform(self, job_record):
        """Run a stored job the way queue_job's controller does (here in
        the test's transaction): its result, or the exception it raised."""
        self.env.cr.execute(
            "UPDATE queue_job SET state = 'started' WHERE id = %s", [job_record.id]
        )
        job_record.invalidate_recordset(["state"])
        job = Job.load(self.env, job_record.uuid)
        return job.perform()


@tagged("post_install", "-at_install")
class TestSyncJobs(JobsCase, GoflowSandboxCase):
    def setUp(self):
        super().setUp()
        self.settlement = self._import()
        # the same file in a second store of the company, same Goflow account
        store = self._make_store(self.company_a, self.journal_a, "Amazon CA A")
        store.goflow_connection_id = self.connection_a
        self.other = self._import(store=store)

    def test_connection_has_a_channel_of_capacity_one(self):
        name = self.connection_a._queue_channel()
        self.assertEqual(name, f"root.connectbooks.goflow_{self.connection_a.id}")
        channel = self.env["queue.job.channel"].search([("complete_name", "=", name)])
        self.assertEqual(channel.capacity, 1)
        new = self.env["goflow.connection"].create(
            {"name": "Goflow new", "subdomain": "new", "api_token": "token-new-123"}
        )
        self.assertTrue(
            self.env["queue.job.channel"].search(
                [("complete_name", "=", f"root.connectbooks.goflow_{new.id}")]
            ),
            msg="created with the connection",
        )

    def test_cron_only_enqueues_one_job_per_settlement(self):
        both = self.settlement | self.other
        self.env["connectbooks.settlement"]._cron_sync_goflow(batch_size=1)
        jobs = self._jobs("_job_sync_goflow")
        self.assertEqual(self._records(jobs), both, msg="all of them, no batch")
        self.assertEqual(set(both.mapped("cost_status")), {"not_synced"})
        self.assertEqual(
            set(jobs.mapped("channel")),
            {f"root.connectbooks.goflow_{self.connection_a.id}"},
        )
        self.assertEqual(
            sorted(jobs.mapped("identity_key")),
            sorted(f"connectbooks_goflow.sync:{s.id}" for s in both),
        )
        # the next run while they wait: no second job
        self.env["connectbooks.settlement"]._cron_sync_goflow()
        self.assertEqual(self._jobs("_job_sync_goflow"), jobs)

    def test_button_one_is_synchronous_many_enqueue(self):
        self.assertTrue(self.settlement.action_sync_goflow())
        self.assertEqual(self.settlement.cost_status, "missing", msg="synced now")
        self.assertFalse(self._jobs("_job_sync_goflow"))
        both = self.settlement | self.other
        action = both.action_sync_goflow()
        self.assertIn("2 job(s) queued", action["params"]["message"])
        self.assertEqual(self._records(self._jobs("_job_sync_goflow")), both)

    def test_bookkeeper_queues_and_the_job_runs_as_them(self):
        both = (self.settlement | self.other).with_user(self.bookkeeper)
        action = both.action_sync_goflow()
        self.assertIn("2 job(s) queued", action["params"]["message"])
        job = self._jobs("_job_sync_goflow", self.settlement)
        self.assertEqual(job.user_id, self.bookkeeper)
        self.assertIn("Synced", self._perform(job))
        self.assertEqual(self.settlement.cost_status, "missing")

    def test_job_syncs_and_a_later_one_finds_nothing_to_do(self):
        queued_at = fields.Datetime.now()
        before = self.settlement.sync_count
        self.settlement._sync_enqueue()
        job = self._jobs("_job_sync_goflow", self.settlement)
        self.assertIn("Synced", self._perform(job))
        self.assertEqual(self.settlement.cost_status, "missing")
        self.assertEqual(self.settlement.sync_count, before + 1)
        messages = len(self.settlement.message_ids)
        # a job queued before that sync finished (e.g. by the cron, while
        # this one ran), in the same second or not, has nothing to do
        result = self.settlement._job_sync_goflow(queued_at, before)
        self.assertIn("Nothing to do", result)
        self.assertEqual(len(self.settlement.message_ids), messages)
        # one queued after it (same second: times cannot tell) syncs again
        result = self.settlement._job_sync_goflow(
            self.settlement.last_sync_at, self.settlement.sync_count
        )
        self.assertIn("Synced", result)
        # a job of an older version (no count) still compares the times
        self.settlement.last_sync_at = fields.Datetime.now()
        result = self.settlement._job_sync_goflow(
            fields.Datetime.now() - timedelta(minutes=1)
        )
        self.assertIn("Nothing to do", result)

    def test_company_busy_is_retried_without_counting(self):
        with self.registry.cursor() as other:
            other.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)",
                (SYNC_LOCK_KEY, self.company_a.id),
            )
            with self.assertRaises(RetryableJobError) as caught:
                self.settlement._job_sync_goflow(fields.Datetime.now())
            other.rollback()
        self.assertTrue(caught.exception.ignore_retry)
        self.assertIn("running", str(caught.exception))
        self.assertEqual(self.settlement.cost_status, "not_synced")

    def test_transient_errors_are_retryable(self):
        Settlement = type(self.settlement)
        throttled = GoflowThrottledError("Goflow's rate limit stopped the sync.")
        throttled.retry_after = 41.2
        for error, seconds in (
            (throttled, 42),
            (GoflowNetworkError("Goflow did not answer in time."), None),
        ):
            with (
                self.subTest(error=type(error).__name__),
                patch.object(Settlement, "_sync_goflow_one", side_effect=error),
                self.assertRaises(RetryableJobError) as caught,
            ):
                self.settlement._job_sync_goflow(fields.Datetime.now())
            self.assertEqual(caught.exception.seconds, seconds)
            self.assertFalse(caught.exception.ignore_retry, msg="counted")
            self.assertIn(str(error), str(caught.exception))

    @mute_logger(SYNC_LOGGER)
    def test_permanent_error_fails_with_the_buttons_message(self):
        error = GoflowAuthError("Goflow refused the API token; enter a new one.")
        with (
            patch.object(type(self.settlement), "_sync_goflow_one", side_effect=error),
            self.assertRaises(UserError) as caught,
        ):
            self.settlement._job_sync_goflow(fields.Datetime.now())
        message = str(caught.exception)
        self.assertIn(self.settlement.settlement_ref, message)
        self.assertIn("refused the API token", message)
        with self.assertRaises(UserError) as button:
            with patch.object(
                type(self.settlement), "_sync_goflow_one", side_effect=error
            ):
                self.settlement.action_sync_goflow()
        self.assertEqual(str(button.exception), message, msg="same message")
        # queue_job's on_fail: recorded on the settlement as the cron does
        self.settlement._sync_enqueue()
        job = Job.load(self.env, self._jobs("_job_sync_goflow").uuid)
        self.assertEqual(job.job_config.on_fail_method_name, "_job_sync_goflow_failed")
        self.assertEqual(job.job_config.retry_pattern, {1: 60, 3: 300, 5: 1800})
        job.on_fail({"exc_message": message, "exc_name": "UserError"})
        self.assertEqual(self.settlement.last_sync_error, message)
        self.assertIn("refused the API token", self.settlement.message_ids[0].body)


@tagged("post_install", "-at_install")
class TestFetchJobs(JobsCase, AmazonFetchCase):
    def test_cron_enqueues_one_fetch_per_store_in_its_amazon_channel(self):
        self.env["connectbooks.store"]._cron_fetch_settlements(batch_size=1)
        jobs = self._jobs("_job_fetch_settlements")
        stores = self.store_a | self.store_a2 | self.store_b
        self.assertEqual(self._records(jobs), stores)
        self.assertEqual(
            {job.records: job.channel for job in jobs},
            {
                self.store_a: f"root.connectbooks.amazon_{self.amazon_a.id}",
                self.store_a2: f"root.connectbooks.amazon_{self.amazon_revoked.id}",
                self.store_b: f"root.connectbooks.amazon_{self.amazon_b.id}",
            },
        )
        self.assertFalse(self.store_a.last_fetch_at, msg="not fetched")
        self.env["connectbooks.store"]._cron_fetch_settlements()
        self.assertEqual(self._jobs("_job_fetch_settlements"), jobs, msg="no second")

    def test_buttons_one_store_now_many_queued(self):
        self._report()
        self.store_a.action_fetch_settlements()
        self.assertEqual(len(self._settlements()), 1, msg="fetched now")
        self.assertFalse(self._jobs("_job_fetch_settlements"))
        action = (self.store_a | self.store_b).action_fetch_settlements()
        self.assertIn("2 job(s) queued", action["params"]["message"])
        action = self.env["connectbooks.store"].action_fetch_all_settlements()
        self.assertIn("queued", action["params"]["message"])
        self.assertEqual(
            self._records(self._jobs("_job_fetch_settlements")),
            self.store_a | self.store_a2 | self.store_b,
        )

    @mute_logger(*MUTED)
    def test_fetch_job_imports_and_queues_the_goflow_sync(self):
        self._report()
        self.store_a._fetch_enqueue()
        summary = self._perform(self._jobs("_job_fetch_settlements", self.store_a))
        self.assertIn("1 settlement(s) imported", summary)
        settlement = self._settlements()
        self.assertEqual(settlement.cost_status, "not_synced", msg="not inline")
        sync = self._jobs("_job_sync_goflow", settlement)
        self.assertEqual(
            sync.channel, f"root.connectbooks.goflow_{self.connection_a.id}"
        )
        self._perform(sync)
        self.assertEqual(settlement.cost_status, "missing")

    @mute_logger(*MUTED)
    def test_fetch_job_permanent_failure_fails_with_the_stores_message(self):
        self.store_a2._fetch_enqueue()
        job = self._jobs("_job_fetch_settlements", self.store_a2)
        # rolled back, as queue_job rolls back a failed job
        with self.assertRaises(UserError) as caught, self.env.cr.savepoint():
            self._perform(job)
        self.env.invalidate_all()
        self.assertIn("refresh token", str(caught.exception))
        self.assertFalse(self._settlements(self.store_a2))
        self.assertFalse(self.store_a2.last_fetch_at)
        # queue_job's on_fail: posted on the store as the cron posts it
        self.store_a2._job_fetch_failed(exc_message=str(caught.exception))
        self.assertIn("refresh token", self.store_a2.last_fetch_message)
        self.assertTrue(self.store_a2.last_fetch_at)
        self.assertIn("refresh token", self._messages(self.store_a2))

    @mute_logger(*MUTED)
    def test_fetch_job_throttled_keeps_its_work_and_continues(self):
        first = self._report(days_ago=20)
        self._report("24010823452", days_ago=10)
        # one document now, the next in an hour
        self.api.set_rate_limits({"getReportDocument": (1 / 3600, 1)})
        self.store_a._fetch_enqueue()
        job = self._jobs("_job_fetch_settlements", self.store_a)
        summary = self._perform(job)
        self.assertIn("continues in a new job", summary)
        self.assertEqual(self._record(first).state, "imported", msg="kept")
        follow = self._jobs("_job_fetch_settlements", self.store_a) - job
        self.assertEqual(len(follow), 1, msg="the rest in a new job")
        self.assertGreater(follow.eta, fields.Datetime.now())
        # throttled before anything was done: queue_job retries the job
        with self.assertRaises(RetryableJobError) as caught:
            self._perform(follow)
        self.assertFalse(caught.exception.ignore_retry)
        self.assertIn("rate limit", str(caught.exception))


@tagged("post_install", "-at_install")
class TestWalmartFetchJobs(JobsCase, WalmartFetchCase):
    def _channel(self):
        return f"root.connectbooks.walmart_{self.walmart_a.id}"

    def test_walmart_connection_has_a_channel_of_capacity_one(self):
        Channel = self.env["queue.job.channel"]
        channel = Channel.search([("complete_name", "=", self._channel())])
        self.assertEqual(channel.capacity, 1, msg="created with the connection")
        self.assertEqual(self.walmart_a._queue_channel(), self._channel())
        self.assertEqual(
            Channel.search([("complete_name", "=", self._channel())]),
            channel,
            msg="not twice",
        )
        # a connection made before the add-on was installed: at install
        channel.unlink()
        post_init_hook(self.env)
        channel = Channel.search([("complete_name", "=", self._channel())])
        self.assertEqual(channel.capacity, 1)

    def test_fetch_job_channel_follows_the_stores_marketplace(self):
        self.env["connectbooks.store"]._cron_fetch_settlements(batch_size=1)
        job = self._jobs("_job_fetch_settlements", self.store_w)
        self.assertEqual(job.channel, self._channel())
        self.assertEqual(
            job.identity_key, f"connectbooks_goflow.fetch:{self.store_w.id}"
        )
        self.assertFalse(self.store_w.last_fetch_at, msg="not fetched")
        # an Amazon store of the same company: its Amazon account's channel
        amazon = self.env["connectbooks.amazon.connection"].create(
            {
                "name": "Amazon (A)",
                "company_id": self.company_a.id,
                "client_id": "amzn1.application-oa2-client.test",
                "client_secret": "amzn1.oa2-cs.v1.test",
                "refresh_token": "Atzr|test-refresh-token",
            }
        )
        self.store_a.write({"marketplace": "amazon", "amazon_connection_id": amazon.id})
        self.store_a._fetch_enqueue()
        self.assertEqual(
            self._jobs("_job_fetch_settlements", self.store_a).channel,
            f"root.connectbooks.amazon_{amazon.id}",
        )

    @mute_logger(*WALMART_MUTED)
    def test_fetch_job_imports_and_queues_the_goflow_sync(self):
        self._recon()
        self.store_w._fetch_enqueue()
        summary = self._perform(self._jobs("_job_fetch_settlements", self.store_w))
        self.assertIn("1 settlement(s) imported from Walmart", summary)
        settlement = self._settlements()
        self.assertEqual(settlement.settlement_ref, WALMART_REF)
        self.assertEqual(settlement.cost_status, "not_synced", msg="not inline")
        sync = self._jobs("_job_sync_goflow", settlement)
        self.assertEqual(
            sync.channel, f"root.connectbooks.goflow_{self.connection_a.id}"
        )

    @mute_logger(*WALMART_MUTED)
    def test_walmart_transient_errors_are_retried(self):
        Store = type(self.store_w)
        throttled = WalmartThrottledError("Walmart's rate limit stopped the fetch.")
        throttled.retry_after = 41.2
        for error, seconds in (
            (throttled, 42),
            (WalmartServerError("Walmart answered 503.", status=503), None),
            (WalmartNetworkError("Walmart did not answer in time."), None),
        ):
            with (
                self.subTest(error=type(error).__name__),
                patch.object(Store, "_fetch_list", side_effect=error),
                self.assertRaises(RetryableJobError) as caught,
            ):
                self.store_w._job_fetch_settlements()
            self.assertEqual(caught.exception.seconds, seconds)
            self.assertFalse(caught.exception.ignore_retry, msg="counted")
            self.assertEqual(
                str(caught.exception),
                self.store_w._fetch_error_message(error),
                msg="the message the store shows",
            )
        refused = WalmartAuthError("Walmart refused the client id.", status=401)
        with (
            patch.object(Store, "_fetch_list", side_effect=refused),
            self.assertRaises(UserError) as caught,
        ):
            self.store_w._job_fetch_settlements()
        self.assertEqual(
            str(caught.exception), self.store_w._fetch_error_message(refused)
        )

    @mute_logger(*WALMART_MUTED)
    def test_fetch_job_throttled_keeps_its_work_and_continues(self):
        self._recon(2025, days_ago=20)
        self._recon(2026, days_ago=10)
        # one file now, the next in an hour
        self.api.retry_after = 3600
        self.api.set_rate_limits({"reconFile": (1 / 3600, 1)})
        self.store_w._fetch_enqueue()
        job = self._jobs("_job_fetch_settlements", self.store_w)
        summary = self._perform(job)
        self.assertIn("continues in a new job", summary)
        self.assertEqual(self._settlements().settlement_ref, "20250301-20250314")
        follow = self._jobs("_job_fetch_settlements", self.store_w) - job
        self.assertEqual(len(follow), 1, msg="the rest in a new job")
        self.assertEqual(follow.channel, self._channel())
        self.assertGreater(follow.eta, fields.Datetime.now())
        # the failed job's on_fail names the marketplace
        self.store_w._job_fetch_failed(exc_message="Walmart refused the client id.")
        self.assertIn(
            "The settlement fetch from Walmart failed", self._messages(self.store_w)
        )
