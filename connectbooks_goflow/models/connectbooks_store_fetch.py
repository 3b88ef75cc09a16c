import gc
import io
import logging
import re
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL

from ..core import amazon_const
from ..core.amazon_client import (
    AmazonDocumentError,
    AmazonError,
    AmazonRequestError,
    AmazonThrottledError,
)
from ..core.settlement_fetch import fetch_window, report_outcome
from ..core.settlement_parser import SettlementFileError, SettlementReader
from ..core.vocabulary import (
    REPORT_FAILED,
    REPORT_HANDLED,
    REPORT_IMPORTED,
    REPORT_MATCHED,
    REPORT_REISSUED,
    SETTLEMENT_SOURCE_AMAZON,
)
from .connectbooks_settlement_import import naive_utc

_logger = logging.getLogger(__name__)

# pg_advisory_xact_lock(key, store id): one fetch per store at once.
FETCH_LOCK_KEY = 0xA3A20
# The cron fetches this many stores per batch (a batch is one transaction).
CRON_BATCH_SIZE = 5
# A store fetched less than this long ago is not taken again by the cron.
CRON_FETCH_AGAIN_AFTER = timedelta(minutes=30)
# Longest wait for Amazon's rate limit: a scheduled run never sleeps for
# minutes (its work continues at the next run); a person waits a little.
CRON_MAX_WAIT = 5.0
BUTTON_MAX_WAIT = 20.0
# The header is read from the file's first bytes only (the column names and
# the summary row): a reader left to the garbage collector, which the import
# pauses, then holds kilobytes rather than a megabyte block of the file.
HEADER_PROBE_BYTES = 1 << 16
# Marketplace ids are typed comma-separated (spaces and semicolons accepted).
_MARKETPLACE_SPLIT = re.compile(r"[\s,;]+")


@dataclass
class FetchResult:
    """What one store's fetch did."""

    imported: list = field(default_factory=list)  # settlement refs
    matched: int = 0
    reissued: int = 0
    failed: int = 0
    error: str | None = None  # the store-level failure, if any
    throttled: bool = False


# One model, one file per concern (docs/architecture.md, "Layers").
class ConnectbooksStore(models.Model):
    """Fetching a store's settlements from Amazon: the settings, the buttons,
    the hourly scheduled action (docs/architecture.md, "Fetching
    settlements")."""

    _inherit = "connectbooks.store"  # pylint: disable=consider-merging-classes-inherited

    amazon_connection_id = fields.Many2one(
        "connectbooks.amazon.connection",
        string="Amazon Connection",
        check_company=True,
        tracking=True,
    )
    amazon_marketplace_ids = fields.Char(
        string="Amazon Marketplace IDs",
        tracking=True,
        help="Comma-separated marketplace ids of this store's settlements, e.g. "
        "ATVPDKIKX0DER (amazon.com), A2EUQ1WTGCTBG2 (amazon.ca).",
    )
    amazon_fetch_since = fields.Date(
        string="Fetch Settlements Since",
        tracking=True,
        help="Reports created before this day are not fetched (upload them). "
        "Amazon lists reports for 90 days only.",
    )
    amazon_fetch_enabled = fields.Boolean(
        string="Fetch Settlements Automatically",
        tracking=True,
        help="Every hour, new settlement reports are fetched from Amazon and "
        "imported as draft settlements.",
    )
    amazon_last_fetch_at = fields.Datetime(
        string="Last Amazon Fetch", readonly=True, copy=False
    )
    amazon_last_fetch_message = fields.Char(
        string="Last Fetch Result", readonly=True, copy=False
    )
    marketplace_report_ids = fields.One2many(
        "connectbooks.marketplace.report", "store_id", string="Fetched Reports"
    )
    marketplace_report_count = fields.Integer(
        compute="_compute_marketplace_report_count"
    )

    def _compute_marketplace_report_count(self):
        counts = dict(
            self.env["connectbooks.marketplace.report"]._read_group(
                [("store_id", "in", self.ids)], ["store_id"], ["__count"]
            )
        )
        for store in self:
            store.marketplace_report_count = counts.get(store, 0)

    @api.constrains(
        "amazon_marketplace_ids", "amazon_fetch_enabled", "amazon_connection_id"
    )
    def _check_amazon_fetch(self):
        for store in self:
            marketplaces = store._amazon_marketplace_list()
            if store.amazon_fetch_enabled and not (
                store.amazon_connection_id and marketplaces
            ):
                raise ValidationError(
                    self.env._(
                        "Store %(store)s: to fetch settlements, choose its Amazon "
                        "connection and name its marketplace ids.",
                        store=store.name,
                    )
                )

    def action_fetch_settlements(self):
        """Store form button: fetch now; a failure is shown as an error."""
        self._check_fetch_access()
        results = []
        for store in self:
            if not store.amazon_connection_id:
                raise UserError(
                    self.env._(
                        "Store %(store)s has no Amazon connection; choose one on "
                        "the store's Amazon tab.",
                        store=store.name,
                    )
                )
            results.append((store, store._amazon_fetch(True, BUTTON_MAX_WAIT)))
        return self._fetch_notification(results)

    @api.model
    def action_fetch_all_settlements(self):
        """Settlement list button: fetch every switched-on store of the
        user's companies; one store's failure is posted on it and the
        others go on."""
        self._check_fetch_access()
        stores = self.search(
            [
                ("amazon_fetch_enabled", "=", True),
                ("company_id", "in", self.env.companies.ids),
            ]
        )
        if not stores:
            raise UserError(
                self.env._(
                    "No store fetches its settlements from Amazon yet: on the "
                    "store, choose an Amazon connection, name the marketplace ids "
                    "and switch on Fetch Settlements Automatically."
                )
            )
        results = [
            (store, store._amazon_fetch(False, BUTTON_MAX_WAIT)) for store in stores
        ]
        return self._fetch_notification(results)

    def action_view_marketplace_reports(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "connectbooks_goflow.connectbooks_marketplace_report_action"
        )
        action["domain"] = [("store_id", "=", self.id)]
        action["context"] = {}
        return action

    @api.model
    def _cron_fetch_settlements(self, batch_size=CRON_BATCH_SIZE):
        """Hourly: every switched-on store, the least recently fetched
        first, a batch per call."""
        domain = self._cron_fetch_domain()
        stores = self.search(
            domain, order="amazon_last_fetch_at asc nulls first, id", limit=batch_size
        )
        remaining = self.search_count(domain) - len(stores)
        for store in stores:
            store._amazon_fetch(False, CRON_MAX_WAIT)
        self.env["ir.cron"]._notify_progress(
            done=len(stores), remaining=max(remaining, 0)
        )

    @api.model
    def _cron_fetch_domain(self):
        again_before = fields.Datetime.now() - CRON_FETCH_AGAIN_AFTER
        return [
            ("amazon_fetch_enabled", "=", True),
            ("amazon_connection_id", "!=", False),
            "|",
            ("amazon_last_fetch_at", "=", False),
            ("amazon_last_fetch_at", "<", again_before),
        ]

    def _amazon_marketplace_list(self):
        """The store's marketplace ids, checked.

        :raise ValidationError: a value is not a marketplace id, or more
            than Amazon takes
        """
        self.ensure_one()
        values = []
        for part in _MARKETPLACE_SPLIT.split(self.amazon_marketplace_ids or ""):
            if part and part not in values:
                values.append(part)
        for value in values:
            if not (value.isascii() and value.isalnum()):
                raise ValidationError(
                    self.env._(
                        "Store %(store)s: %(value)r is not an Amazon marketplace id "
                        "(e.g. %(example)s for amazon.com).",
                        store=self.name,
                        value=value,
                        example=amazon_const.MARKETPLACE_IDS["US"],
                    )
                )
        if len(values) > amazon_const.MAX_MARKETPLACE_IDS:
            raise ValidationError(
                self.env._(
                    "Store %(store)s: Amazon takes at most %(max)s marketplace ids.",
                    store=self.name,
                    max=amazon_const.MAX_MARKETPLACE_IDS,
                )
            )
        return values

    def _check_fetch_access(self):
        """Fetching imports settlements: the user must be allowed to read
        the stores and to create settlements."""
        self.check_access("read")
        self.env["connectbooks.settlement"].check_access("create")

    def _amazon_fetch(self, raise_errors, max_wait):
        """Fetch this store's new settlement reports and import them.

        :param raise_errors: a failure of the store as a whole (credentials,
            rate limit, Amazon down) raises a ``UserError`` when nothing was
            imported (button); else it is logged and posted on the store and
            the caller goes on (cron, list button)
        :param max_wait: longest wait for Amazon's rate limit, in seconds
        :return: :class:`FetchResult`
        """
        self.ensure_one()
        store = self.with_company(self.company_id)
        result = FetchResult()
        if not store._fetch_lock():
            result.error = self.env._(
                "Store %(store)s is being fetched already; try again in a minute.",
                store=store.name,
            )
            if raise_errors:
                raise UserError(result.error)
            _logger.info("Amazon fetch of store %s skipped: busy", store.id)
            return result
        if raise_errors:
            store._amazon_fetch_run(result, max_wait)
        else:
            try:
                with self.env.cr.savepoint():
                    store._amazon_fetch_run(result, max_wait)
            except Exception as error:  # one store's bug must not stop the others
                _logger.exception("Amazon fetch of store %s crashed", store.id)
                result.error = self.env._(
                    "The Amazon fetch stopped on an unexpected error (%(error)s); "
                    "see the server log.",
                    error=type(error).__name__,
                )
        store._amazon_fetch_done(result, raise_errors)
        return result

    def _amazon_fetch_run(self, result, max_wait):
        """List the reports of the fetch window; download and handle each
        one not handled yet, oldest first, each in its own savepoint."""
        connection = self.amazon_connection_id
        if not connection:
            result.error = self.env._(
                "Store %(store)s has no Amazon connection.", store=self.name
            )
            return
        records = self.sudo().marketplace_report_ids
        known = {record.report_ref: record for record in records}
        since = fetch_window(
            fields.Datetime.now(),
            self.amazon_fetch_since or None,
            handled=[r.created_time for r in records if r.state in REPORT_HANDLED],
            failed=[r.created_time for r in records if r.state == REPORT_FAILED],
        )
        try:
            with connection._amazon_client(max_wait) as client:
                listed = list(
                    client.list_settlement_reports(
                        self._amazon_marketplace_list(), created_since=since
                    )
                )
                todo = [
                    report
                    for report in listed
                    if self._amazon_report_todo(known.get(report.report_id))
                ]
                todo.sort(
                    key=lambda r: (
                        naive_utc(r.created_time) or datetime.min,
                        r.report_id,
                    )
                )
                _logger.info(
                    "Amazon fetch of store %s since %s: %s listed, %s new",
                    self.id,
                    since,
                    len(listed),
                    len(todo),
                )
                for report in todo:
                    self._amazon_fetch_one(
                        client, report, known.get(report.report_id), result
                    )
        except AmazonError as error:
            result.error = connection._amazon_error_message(error)
            result.throttled = isinstance(error, AmazonThrottledError)
            _logger.warning(
                "Amazon fetch of store %s stopped: %s", self.id, type(error).__name__
            )
        except UserError as error:
            result.error = str(error)

    @api.model
    def _amazon_report_todo(self, record):
        """Is a listed report to be downloaded? When never seen, when it
        failed, and when it was flagged as reissued and the settlement it
        clashed with has been deleted since (to take the new one)."""
        if not record:
            return True
        if record.state == REPORT_FAILED:
            return True
        return record.state == REPORT_REISSUED and not record.settlement_id

    def _amazon_fetch_one(self, client, report, record, result):
        """Download one report to a temporary file and handle it.

        A document Amazon spoiled, or a file the importer refuses, fails
        only itself (recorded, tried again at the next fetch); a rate limit,
        refused credentials or an unreachable Amazon raise, and stop the
        store's fetch.
        """
        connection = self.amazon_connection_id
        try:
            with tempfile.TemporaryFile() as handle:
                download = client.download_report(report, handle)
                settlement, outcome, header = self._amazon_handle_file(
                    report, download, handle
                )
        except AmazonThrottledError:
            # Not a failure: this report and the next wait for the next run.
            raise
        except (AmazonDocumentError, AmazonRequestError, UserError) as error:
            message = (
                connection._amazon_error_message(error)
                if isinstance(error, AmazonError)
                else str(error)
            )
            self._amazon_report_failed(report, record, message)
            result.failed += 1
            return
        except AmazonError as error:
            self._amazon_report_failed(
                report, record, connection._amazon_error_message(error)
            )
            result.failed += 1
            raise
        values = {
            "state": outcome,
            "settlement_id": settlement.id,
            "settlement_ref": header.settlement_id,
            "document_ref": report.document_id,
            "message": False,
        }
        if outcome == REPORT_IMPORTED:
            result.imported.append(header.settlement_id)
        elif outcome == REPORT_MATCHED:
            result.matched += 1
        else:
            result.reissued += 1
            values["message"] = self._amazon_reissued(report, header, settlement)
        self._amazon_report_record(report, record, values)
        if outcome == REPORT_IMPORTED and self.goflow_connection_id:
            settlement._sync_goflow(raise_errors=False)

    def _amazon_handle_file(self, report, download, handle):
        """Import the downloaded report, or recognise its settlement.

        :return: ``(settlement, outcome, header)``
        :raise UserError: the file is not a settlement the importer takes
        """
        filename = f"amazon-report-{report.report_id}.txt"
        handle.seek(0)
        try:
            probe = io.BytesIO(handle.read(HEADER_PROBE_BYTES))
            header = SettlementReader(probe, filename=filename).header
        except SettlementFileError as error:
            raise UserError(str(error)) from error
        handle.seek(0)
        Settlement = self.env["connectbooks.settlement"]
        existing = Settlement.search(
            [("store_id", "=", self.id), ("settlement_ref", "=", header.settlement_id)],
            limit=1,
        )
        outcome = report_outcome(
            existing.total_amount if existing else None,
            header.total_amount,
            (existing.currency_id or self.currency_id).decimal_places,
        )
        if outcome != REPORT_IMPORTED:
            return existing, outcome, header
        # The import pauses the garbage collector while a million rows stream
        # through: what the listing and the download left in reference
        # cycles is collected now rather than carried to the end.
        gc.collect()
        with self.env.cr.savepoint():
            settlement = self.env["connectbooks.settlement.import"]._import_file(
                self, handle, filename
            )
            settlement.write(
                {
                    "source": SETTLEMENT_SOURCE_AMAZON,
                    "amazon_report_ref": report.report_id,
                    "amazon_document_ref": download.document_id,
                }
            )
        return settlement, outcome, header

    def _amazon_reissued(self, report, header, settlement):
        """Flag a report whose settlement is in the books with another total."""
        message = self.env._(
            "Amazon reissued settlement %(ref)s (report %(report)s): its total is "
            "now %(new)s, the settlement in Odoo has %(old)s. It was not imported "
            "again: check the difference, and to replace it reset the settlement "
            "to draft, delete it and fetch again (or upload the new file).",
            ref=header.settlement_id,
            report=report.report_id,
            new=header.total_amount,
            old=settlement.total_amount,
        )
        _logger.warning(
            "Amazon fetch of store %s: settlement %s reissued with another total "
            "(report %s)",
            self.id,
            header.settlement_id,
            report.report_id,
        )
        self.sudo().message_post(body=message)
        settlement.sudo().message_post(body=message)
        return message

    def _amazon_report_failed(self, report, record, message):
        _logger.warning(
            "Amazon fetch of store %s: report %s failed: %s",
            self.id,
            report.report_id,
            message,
        )
        self._amazon_report_record(
            report,
            record,
            {"state": REPORT_FAILED, "message": message, "settlement_id": False},
        )
        self.sudo().message_post(
            body=self.env._(
                "Amazon settlement report %(report)s could not be imported; it is "
                "tried again at the next fetch. %(reason)s",
                report=report.report_id,
                reason=message,
            )
        )

    def _amazon_report_record(self, report, record, values):
        """Create or update the record of a report (written by the fetch
        only: users read them)."""
        values = {
            "created_time": naive_utc(report.created_time),
            "period_start": naive_utc(report.data_start_time),
            "period_end": naive_utc(report.data_end_time),
            "document_ref": report.document_id,
            "last_attempt_at": fields.Datetime.now(),
            **values,
        }
        if record:
            values["attempt_count"] = record.attempt_count + 1
            record.sudo().write(values)
            return record
        values.update(
            {"store_id": self.id, "report_ref": report.report_id, "attempt_count": 1}
        )
        return self.env["connectbooks.marketplace.report"].sudo().create(values)

    def _amazon_fetch_done(self, result, raise_errors):
        """Stamp the store, post what happened, raise for the button."""
        summary = self._fetch_summary(result)
        if result.error and raise_errors and not result.imported:
            raise UserError(result.error)
        self.sudo().write(
            {
                "amazon_last_fetch_at": fields.Datetime.now(),
                "amazon_last_fetch_message": summary[:500],
            }
        )
        if result.error:
            _logger.warning("Amazon fetch of store %s: %s", self.id, result.error)
            if result.throttled:
                body = self.env._(
                    "Amazon's rate limit stopped the settlement fetch; it "
                    "continues at the next run. %(summary)s",
                    summary=summary,
                )
            else:
                body = self.env._(
                    "The settlement fetch from Amazon failed: %(error)s",
                    error=result.error,
                )
            self.sudo().message_post(body=body)
        elif result.imported:
            self.sudo().message_post(body=summary)

    def _fetch_summary(self, result):
        text = self.env._(
            "%(imported)s settlement(s) imported from Amazon, %(matched)s already "
            "there, %(reissued)s reissued, %(failed)s failed.",
            imported=len(result.imported),
            matched=result.matched,
            reissued=result.reissued,
            failed=result.failed,
        )
        if result.imported:
            text += " " + ", ".join(result.imported)
        return text

    def _fetch_lock(self):
        self.env.cr.execute(
            SQL("SELECT pg_try_advisory_xact_lock(%s, %s)", FETCH_LOCK_KEY, self.id)
        )
        return self.env.cr.fetchone()[0]

    @api.model
    def _fetch_notification(self, results):
        """The notification of a button press: one line per store."""
        lines = []
        trouble = False
        for store, result in results:
            line = f"{store.name}: {self._fetch_summary(result)}"
            if result.error:
                line += f" {result.error}"
            trouble = trouble or bool(result.error or result.failed or result.reissued)
            lines.append(line)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Fetch Settlements"),
                "message": "\n".join(lines),
                "type": "warning" if trouble else "success",
                "sticky": trouble,
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }
