"""Two workers pick two jobs of one settlement at once: each runs through
queue_job's own controller code (acquire, perform, postpone) in a thread
with its own database cursor, as two Odoo workers would. The add-on's
per-company advisory lock and the job's freshness check must let exactly
one of them write: no duplicate cost line, no duplicate true-up entry, one
sync message.

The data lives in a company of its own, committed (other cursors see
nothing of a test's transaction); the test database is thrown away after
the run."""

# pylint: disable=invalid-commit
# (what two workers do is seen by other cursors only once committed)

import threading
import unittest

from odoo import SUPERUSER_ID, Command, api
from odoo.tests import TransactionCase, tagged
from odoo.tools import mute_logger
from odoo.tools.misc import file_open

from odoo.addons.connectbooks_goflow.tests.common import ConnectbooksCase
from odoo.addons.connectbooks_goflow.tests.sandbox import sandbox_module
from odoo.addons.connectbooks_goflow.tests.test_cost_sync import (
    SMALL,
    TOKEN,
    small_dataset,
)
from odoo.addons.queue_job.controllers.main import RunJobController
from odoo.addons.queue_job.job import DONE, ENQUEUED, PENDING

# Every Goflow answer takes this long: the first job holds the company's
# lock while the second one starts.
LATENCY_MS = 150
LATE_ORDER = 9004  # its cost arrives after posting: a true-up
MUTED = (
    "odoo.addons.queue_job.controllers.main",
    "odoo.addons.queue_job.jobrunner",
    "odoo.addons.connectbooks_goflow.models.connectbooks_settlement_sync",
)


def _world(env, sandbox_url):
    """A company with a store on the sandbox, and a settlement imported,
    synced and posted with estimated costs. Return the settlement."""
    company = env["res.company"].create({"name": "Concurrent jobs (test)"})
    env = env(context=dict(env.context, allowed_company_ids=company.ids))
    journal = env["account.journal"].create(
        {
            "name": "Marketplace (concurrent)",
            "code": "MKTC",
            "type": "general",
            "company_id": company.id,
        }
    )
    accounts = {
        field: env["account.account"]
        .create(
            {
                "code": code,
                "name": field,
                "account_type": account_type,
                "company_ids": [Command.set(company.ids)],
                "reconcile": field == "clearing_account_id",
            }
        )
        .id
        for field, (code, account_type) in ConnectbooksCase.STORE_ACCOUNTS.items()
    }
    connection = env["goflow.connection"].create(
        {
            "name": "Goflow (concurrent)",
            "company_id": company.id,
            "subdomain": "acme",
            "base_url": sandbox_url,
            "api_token": TOKEN,
            "beta_contact": "books@example.com",
            "rate_limit": 0,
        }
    )
    store = env["connectbooks.store"].create(
        {
            "name": "Amazon US (concurrent)",
            "company_id": company.id,
            "currency_id": company.currency_id.id,
            "journal_id": journal.id,
            "goflow_connection_id": connection.id,
            **accounts,
        }
    )
    with file_open(SMALL, "rb") as handle:
        settlement = env["connectbooks.settlement.import"]._import_file(
            store, handle, "amazon_v2_small.txt"
        )
    settlement._sync_goflow(raise_errors=True)
    admin = env.ref("base.user_admin")
    admin.write(
        {
            "company_ids": [Command.link(company.id)],
            "groups_id": [Command.link(env.ref("account.group_account_manager").id)],
        }
    )
    settlement.with_user(admin).action_post_estimated()
    return settlement


@tagged("post_install", "-at_install")
class TestConcurrentJobs(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        module = sandbox_module()
        if module is None:
            raise unittest.SkipTest("the Goflow sandbox (tools/) is not beside")
        SandboxServer, Dataset = module
        cls.sandbox = SandboxServer(
            Dataset.from_dict(small_dataset()),
            token=TOKEN,
            page_size=2,
            latency_ms=LATENCY_MS,
        ).start()
        cls.addClassCleanup(cls.sandbox.stop)
        with cls.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
            cls.settlement_id = _world(env, cls.sandbox.url).id
            cr.commit()

    def _env(self, cr):
        return api.Environment(cr, SUPERUSER_ID, {})

    def _enqueue(self):
        """A job for the settlement, marked enqueued as the runner marks
        the job it hands to a worker; committed. Return its uuid."""
        with self.registry.cursor() as cr:
            settlement = self._env(cr)["connectbooks.settlement"].browse(
                self.settlement_id
            )
            settlement._sync_enqueue()
            cr.execute(
                "SELECT uuid FROM queue_job WHERE identity_key = %s "
                "ORDER BY id DESC LIMIT 1",
                [settlement._job_sync_identity()],
            )
            job = cr.fetchone()[0]
            cr.execute(
                "UPDATE queue_job SET state = %s, eta = NULL WHERE uuid = %s",
                [ENQUEUED, job],
            )
            cr.commit()
        return job

    def _state(self):
        """(cost lines, true-up entries, sync messages) of the settlement,
        as committed."""
        with self.registry.cursor() as cr:
            settlement = self._env(cr)["connectbooks.settlement"].browse(
                self.settlement_id
            )
            return (
                len(settlement.cost_line_ids),
                len(
                    settlement.cogs_move_ids.filtered(
                        lambda m: m.goflow_move_kind == "trueup"
                    )
                ),
                len(
                    settlement.message_ids.filtered(
                        lambda m: "Goflow sync:" in (m.body or "")
                    )
                ),
                settlement.cost_line_ids.filtered(
                    lambda c: c.order_ref == "114-2233445-5566778"
                ).mapped("source"),
            )

    def _jobs(self, uuids):
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT uuid, state, result FROM queue_job WHERE uuid IN %s",
                [tuple(uuids)],
            )
            return {uuid: (state, result) for uuid, state, result in cr.fetchall()}

    def _worker(self, uuid, errors, acquired=None, barrier=None):
        """One Odoo worker serving /queue_job/runjob for ``uuid``: the
        controller's own steps, in a cursor of its own; ``acquired`` is set
        once the job is taken (started), ``barrier`` waited for before
        running it."""
        try:
            with self.registry.cursor() as cr:
                env = self._env(cr)
                job = RunJobController._acquire_job(env, uuid)
                if acquired:
                    acquired.set()
                if barrier:
                    barrier.wait(timeout=30)
                if job is None:
                    errors.append(f"job {uuid} could not be acquired")
                    return
                RunJobController._runjob(env, job)
                # the controller commits unless Odoo runs tests
                cr.commit()
        except Exception as error:  # reported by the test
            errors.append(repr(error))
            if acquired:
                acquired.set()

    @mute_logger(*MUTED)
    def test_two_jobs_of_one_settlement_write_once(self):
        lines, trueups, messages, _sources = self._state()
        self.assertEqual(trueups, 0)
        self.sandbox.set_line_cost(LATE_ORDER, 0, 6.5)
        self.addCleanup(self.sandbox.set_line_cost, LATE_ORDER, 0, None)
        errors = []
        barrier = threading.Barrier(2)
        first = self._enqueue()
        acquired = threading.Event()
        worker_a = threading.Thread(
            target=self._worker, args=(first, errors, acquired, barrier)
        )
        worker_a.start()
        # the first job taken by a worker (started), the cron's next run may
        # enqueue a second one for the same settlement
        self.assertTrue(acquired.wait(timeout=30))
        second = self._enqueue()
        self.assertNotEqual(first, second, msg="not deduplicated: one started")
        worker_b = threading.Thread(
            target=self._worker, args=(second, errors, None, barrier)
        )
        worker_b.start()
        for thread in (worker_a, worker_b):
            thread.join(timeout=120)
        self.assertFalse(errors)
        states = self._jobs([first, second])
        done = [uuid for uuid, (state, _r) in states.items() if state == DONE]
        waiting = [uuid for uuid, (state, _r) in states.items() if state == PENDING]
        self.assertGreaterEqual(len(done), 1, msg=states)
        # the one that lost (company lock busy, or a serialization failure
        # against the winner's commit) was postponed by queue_job: run it
        # again, as the runner would once its eta is past
        for uuid in waiting:
            with self.registry.cursor() as cr:
                cr.execute(
                    "UPDATE queue_job SET state = %s, eta = NULL WHERE uuid = %s",
                    [ENQUEUED, uuid],
                )
                cr.commit()
            self._worker(uuid, errors)
        self.assertFalse(errors)
        states = self._jobs([first, second])
        self.assertEqual({state for state, _r in states.values()}, {DONE}, states)
        results = sorted(result or "" for _s, result in states.values())
        self.assertEqual(
            [r.split(":")[0] for r in results],
            ["Nothing to do", "Synced"],
            msg="one wrote, the other found nothing to do",
        )
        after = self._state()
        self.assertEqual(after[0], lines, msg="no duplicate cost line")
        self.assertEqual(after[1], 1, msg="one true-up entry, not two")
        self.assertEqual(after[2], messages + 1, msg="one sync message")
        self.assertEqual(after[3], ["goflow"])
