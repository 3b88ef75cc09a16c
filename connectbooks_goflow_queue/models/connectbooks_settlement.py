import logging

from odoo import _, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from odoo.addons.queue_job.exception import RetryableJobError

from .common import BUSY_RETRY_SECONDS, retry_seconds, transient

_logger = logging.getLogger(__name__)


class ConnectbooksSettlement(models.Model):
    _inherit = "connectbooks.settlement"

    def _sync_enqueue(self):
        """One job per settlement, in the channel of its store's Goflow
        account; a settlement whose job is still waiting gets no second one
        (identity key)."""
        requested_at = fields.Datetime.now()
        channels = {}
        for settlement in self:
            connection = settlement.store_id.goflow_connection_id
            if connection not in channels:
                channels[connection] = connection._queue_channel() or None
            settlement.with_delay(
                channel=channels[connection],
                identity_key=settlement._job_sync_identity(),
                description=_(
                    "Goflow sync of settlement %(ref)s", ref=settlement.settlement_ref
                ),
            )._job_sync_goflow(requested_at, settlement.sync_count)
        return self

    def _job_sync_identity(self):
        self.ensure_one()
        return f"connectbooks_goflow.sync:{self.id}"

    def _job_sync_goflow(self, requested_at=None, sync_count=None):
        """Queue job: sync this settlement's costs with Goflow.

        - Another sync of the company holds its lock (the add-on's lock,
          the same as the cron's and the button's): retried in seconds.
        - The settlement was synced after this job was queued (by another
          job, the button or the cron): nothing to do.
        - A transient Goflow failure (rate limit, 5xx, network): retried
          after ``Retry-After`` or the job function's retry pattern; a
          permanent one fails the job with the button's message (and
          :meth:`_job_sync_goflow_failed` records it on the settlement).

        :param requested_at: when the job was queued
        :param sync_count: the settlement's completed syncs then (exact,
            where times are to the second); jobs queued without it compare
            the times
        :return: what the job did, for the job's result
        """
        settlement = self.exists()
        if not settlement:
            return _("Nothing to do: the settlement was deleted.")
        settlement.ensure_one()
        settlement = settlement.with_company(settlement.company_id)
        if not settlement._sync_lock(settlement.company_id):
            raise RetryableJobError(
                _(
                    "A Goflow sync of company %(company)s is running; tried "
                    "again in a moment.",
                    company=settlement.company_id.name,
                ),
                seconds=BUSY_RETRY_SECONDS,
                ignore_retry=True,
            )
        # A sync that committed after this transaction began (another job
        # that held the lock just before) makes this a serialization
        # failure, which queue_job retries with a fresh snapshot: a job
        # never works from a settlement older than the last sync.
        self.env.cr.execute(
            SQL(
                "SELECT id FROM connectbooks_settlement WHERE id = %s "
                "FOR NO KEY UPDATE",
                settlement.id,
            )
        )
        last = settlement.last_sync_at
        if sync_count is not None:
            synced_since = settlement.sync_count > sync_count
        else:
            synced_since = bool(requested_at and last and last >= requested_at)
        if synced_since:
            return _(
                "Nothing to do: synced at %(when)s, after this job was queued.",
                when=last,
            )
        try:
            settlement._sync_goflow_or_raise()
        except UserError as error:
            cause = transient(error)
            if cause is not None:
                raise RetryableJobError(
                    str(error), seconds=retry_seconds(cause)
                ) from error
            raise
        return _(
            "Synced: %(missing)s cost(s) still missing.",
            missing=settlement.missing_count,
        )

    def _job_sync_goflow_failed(self, exc_message=None, **_failure):
        """queue_job's ``on_fail``: the job failed for good (a permanent
        error, or retries spent). Recorded as the cron records a failure:
        stamped on the settlement and posted in its chatter."""
        for settlement in self.exists():
            settlement._sync_goflow_failed(
                exc_message or _("The Goflow sync job failed; see the job.")
            )
