import logging
from datetime import timedelta

from odoo import _, fields, models
from odoo.exceptions import UserError

from odoo.addons.connectbooks_goflow.models.connectbooks_store_fetch import (
    CRON_MAX_WAIT,
)
from odoo.addons.queue_job.exception import RetryableJobError

from .common import BUSY_RETRY_SECONDS, retry_seconds, transient

_logger = logging.getLogger(__name__)

# A fetch stopped by a transient error after it imported something keeps
# what it did and continues in a new job this much later (or after
# Retry-After).
CONTINUE_AFTER = timedelta(minutes=1)


class ConnectbooksStore(models.Model):
    _inherit = "connectbooks.store"

    def _fetch_enqueue(self, eta=None):
        """One job per store, in the channel of the seller account it fetches
        through (its marketplace's connection: ``amazon_<id>``,
        ``walmart_<id>``); a store whose job is still waiting gets no second
        one (identity key)."""
        channels = {}
        for store in self:
            connection = store._fetch_connection()
            # two models' connections: keyed by model and id
            key = (connection._name, connection.id) if connection else None
            if key not in channels:
                # None (no connection): the job function's channel
                channels[key] = connection._queue_channel() if connection else None
            store.with_delay(
                channel=channels[key],
                eta=eta,
                identity_key=store._job_fetch_identity(),
                description=_("Fetch settlements of store %(store)s", store=store.name),
            )._job_fetch_settlements()
        return self

    def _job_fetch_identity(self):
        self.ensure_one()
        return f"connectbooks_goflow.fetch:{self.id}"

    def _job_fetch_settlements(self):
        """Queue job: fetch this store's new settlement reports.

        Each imported settlement's Goflow sync is a job of its own, in the
        Goflow account's channel. Another fetch of the store running: tried
        again in seconds. A transient failure of the marketplace, Amazon's
        or Walmart's (rate limit, 5xx, network), before anything was done:
        retried after ``Retry-After`` or the retry pattern; after reports
        were handled: they are kept and the fetch continues in a new job. A
        permanent failure fails the job with the message the store shows
        (and :meth:`_job_fetch_failed` posts it on the store); after reports
        were handled, they are kept and the store shows the failure, as
        after a scheduled fetch.

        :return: the fetch's summary, for the job's result
        """
        store = self.exists()
        if not store:
            return _("Nothing to do: the store was deleted.")
        store.ensure_one()
        result = store._fetch(False, CRON_MAX_WAIT)
        summary = store._fetch_summary(result)
        if result.busy:
            raise RetryableJobError(
                result.error, seconds=BUSY_RETRY_SECONDS, ignore_retry=True
            )
        if not result.error:
            return summary
        cause = transient(result.exception)
        progress = result.imported or result.matched or result.reissued or result.failed
        if cause is None:
            if not progress:
                raise UserError(result.error)
            # what was imported stays; the store shows the failure
            return f"{summary} {result.error}"
        wait = retry_seconds(cause)
        if not progress:
            raise RetryableJobError(result.error, seconds=wait)
        later = timedelta(seconds=wait) if wait else CONTINUE_AFTER
        store._fetch_enqueue(eta=fields.Datetime.now() + later)
        return _(
            "%(summary)s Stopped by %(error)s; continues in a new job.",
            summary=summary,
            error=result.error,
        )

    def _job_fetch_failed(self, exc_message=None, **_failure):
        """queue_job's ``on_fail``: the fetch job failed for good; its
        message is posted on the store, as the cron posts a failure."""
        for store in self.exists():
            store.sudo().write(
                {
                    "last_fetch_at": fields.Datetime.now(),
                    "last_fetch_message": (exc_message or "")[:500],
                }
            )
            store.sudo().message_post(
                body=_(
                    "The settlement fetch from %(marketplace)s failed: %(error)s",
                    marketplace=store._marketplace_label(),
                    error=exc_message or _("see the job"),
                )
            )
