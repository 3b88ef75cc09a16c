import gc
import io
import logging
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.osv import expression
from odoo.tools import SQL

from ..core.http_policy import ApiError, ThrottledError
from ..core.settlement_archive import is_zip
from ..core.settlement_fetch import report_outcome
from ..core.settlement_parser import SettlementFileError
from ..core.vocabulary import (
    REPORT_FAILED,
    REPORT_IMPORTED,
    REPORT_MATCHED,
    REPORT_REISSUED,
)
from .connectbooks_settlement_import import naive_utc

_logger = logging.getLogger(__name__)

# pg_advisory_xact_lock(key, store id): one fetch per store at once.
FETCH_LOCK_KEY = 0xA3A20
# The cron fetches this many stores per batch (a batch is one transaction).
CRON_BATCH_SIZE = 5
# A store fetched less than this long ago is not taken again by the cron.
CRON_FETCH_AGAIN_AFTER = timedelta(minutes=30)
# Longest wait for a marketplace's rate limit: a scheduled run never sleeps
# for minutes (its work continues at the next run); a person waits a little.
CRON_MAX_WAIT = 5.0
BUTTON_MAX_WAIT = 20.0
# The header of a plain text file is read from its first bytes only (the
# column names and the summary row): a reader left to the garbage collector,
# which the import pauses, then holds kilobytes rather than a megabyte block
# of the file. A zip is read from the whole file (its directory is at the end).
HEADER_PROBE_BYTES = 1 << 16


@dataclass
class FetchResult:
    """What one store's fetch did."""

    imported: list = field(default_factory=list)  # settlement refs
    matched: int = 0
    reissued: int = 0
    failed: int = 0
    error: str | None = None  # the store-level failure, if any
    throttled: bool = False
    busy: bool = False  # another fetch of the store held its lock
    exception: Exception | None = None  # the client's ApiError behind ``error``


@dataclass(frozen=True)
class ListedReport:
    """One settlement report a marketplace lists, as the generic fetch sees
    it; ``listed`` is the client's own record, handed back to its download.
    """

    ref: str  # connectbooks.marketplace.report.report_ref
    filename: str
    created_time: datetime | None = None
    period_start: datetime | None = None
    period_end: datetime | None = None
    document_ref: str | None = None
    listed: object = None


# One model, one file per concern (docs/architecture.md, "Layers").
class ConnectbooksStore(models.Model):
    """Fetching a store's settlements from its marketplace: the settings, the
    buttons, the hourly scheduled action, the lock, the records of what was
    fetched and the chatter trail (docs/architecture.md, "Fetching
    settlements"). What differs by marketplace (list what is new, download
    one, what the settlement keeps of it) is in
    ``connectbooks_store_fetch_<marketplace>.py``, each answering for its
    own ``marketplace`` and handing the others to ``super()``."""

    _inherit = "connectbooks.store"  # pylint: disable=consider-merging-classes-inherited

    fetch_since = fields.Date(
        string="Fetch Settlements Since",
        tracking=True,
        help="Reports of settlements before this day are not fetched (upload "
        "them). Without a date, the last 90 days.",
    )
    fetch_enabled = fields.Boolean(
        string="Fetch Settlements Automatically",
        tracking=True,
        help="Every hour, new settlement reports are fetched from the "
        "marketplace and imported as draft settlements.",
    )
    fetch_connected = fields.Boolean(
        compute="_compute_fetch_connected",
        help="The store has a connection to its marketplace to fetch from.",
    )
    last_fetch_at = fields.Datetime(string="Last Fetch", readonly=True, copy=False)
    last_fetch_message = fields.Char(
        string="Last Fetch Result", readonly=True, copy=False
    )
    marketplace_report_ids = fields.One2many(
        "connectbooks.marketplace.report", "store_id", string="Fetched Reports"
    )
    marketplace_report_count = fields.Integer(
        compute="_compute_marketplace_report_count"
    )

    @api.depends(lambda self: self._fetch_connection_fields())
    def _compute_fetch_connected(self):
        for store in self:
            store.fetch_connected = bool(store._fetch_connection())

    def _compute_marketplace_report_count(self):
        counts = dict(
            self.env["connectbooks.marketplace.report"]._read_group(
                [("store_id", "in", self.ids)], ["store_id"], ["__count"]
            )
        )
        for store in self:
            store.marketplace_report_count = counts.get(store, 0)

    @api.constrains("fetch_enabled", "marketplace")
    def _check_fetch_enabled(self):
        for store in self:
            if store.fetch_enabled and not store._fetch_supported():
                raise ValidationError(
                    self.env._(
                        "Store %(store)s: settlements of %(marketplace)s cannot be "
                        "fetched; import their files.",
                        store=store.name,
                        marketplace=store._marketplace_label(),
                    )
                )

    def action_fetch_settlements(self):
        """Store form button: fetch now; a failure is shown as an error.
        Several stores at once go to the job queue where there is one."""
        self._check_fetch_access()
        results = []
        for store in self:
            if not store._fetch_connection():
                raise UserError(
                    self.env._(
                        "Store %(store)s has no %(marketplace)s connection; choose "
                        "one on the store's %(marketplace)s tab.",
                        store=store.name,
                        marketplace=store._marketplace_label(),
                    )
                )
        if len(self) > 1:
            queued = self._fetch_enqueue()
            if queued is not False:
                return self._queued_notification(queued)
        for store in self:
            results.append((store, store._fetch(True, BUTTON_MAX_WAIT)))
        return self._fetch_notification(results)

    @api.model
    def action_fetch_all_settlements(self):
        """Settlement list button: fetch every switched-on store of the
        user's companies; one store's failure is posted on it and the
        others go on."""
        self._check_fetch_access()
        stores = self.search(
            [
                ("fetch_enabled", "=", True),
                ("company_id", "in", self.env.companies.ids),
            ]
        )
        if not stores:
            raise UserError(
                self.env._(
                    "No store fetches its settlements yet: on the store, choose "
                    "its Amazon or Walmart connection and switch on Fetch "
                    "Settlements Automatically."
                )
            )
        if len(stores) > 1:
            queued = stores._fetch_enqueue()
            if queued is not False:
                return self._queued_notification(queued)
        results = [(store, store._fetch(False, BUTTON_MAX_WAIT)) for store in stores]
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
        first, a batch per call; with a job queue (see :meth:`_fetch_enqueue`)
        every one of them enqueued instead."""
        due = self.search(
            self._cron_fetch_domain(), order="last_fetch_at asc nulls first, id"
        )
        queued = due._fetch_enqueue()
        if queued is not False:
            self.env["ir.cron"]._notify_progress(done=len(due), remaining=0)
            return
        stores = self.browse(due.ids[:batch_size])
        for store in stores:
            store._fetch(False, CRON_MAX_WAIT)
        self.env["ir.cron"]._notify_progress(
            done=len(stores), remaining=len(due) - len(stores)
        )

    def _fetch_enqueue(self):
        """Dispatch hook: hand these stores' fetches to a job queue.

        This add-on has none: it returns ``False`` and the caller fetches
        inline (the scheduled action a batch at a time, the buttons at
        once). A job-queue add-on (``connectbooks_goflow_queue``) overrides
        it to enqueue one job per store and return what it enqueued.
        """
        return False

    @api.model
    def _queued_notification(self, records):
        """The notification of a button whose work went to the job queue."""
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Queued"),
                "message": self.env._(
                    "%(count)s job(s) queued; each record shows its result when "
                    "its job has run.",
                    count=len(records),
                ),
                "type": "info",
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    @api.model
    def _cron_fetch_domain(self):
        again_before = fields.Datetime.now() - CRON_FETCH_AGAIN_AFTER
        return expression.AND(
            [
                [("fetch_enabled", "=", True)],
                expression.OR(
                    self._fetch_connected_domains() or [expression.FALSE_DOMAIN]
                ),
                [
                    "|",
                    ("last_fetch_at", "=", False),
                    ("last_fetch_at", "<", again_before),
                ],
            ]
        )

    # -- what each marketplace answers (overridden per marketplace) --

    @api.model
    def _fetch_connection_fields(self):
        """The fields the store's connection is read from (each marketplace
        adds its own)."""
        return ["marketplace"]

    @api.model
    def _fetch_connected_domains(self):
        """Domains of the stores connected to their marketplace, one per
        marketplace that can be fetched (each marketplace adds its own)."""
        return []

    def _fetch_supported(self):
        """Can settlements of this store's marketplace be fetched?"""
        self.ensure_one()
        return False

    def _fetch_connection(self):
        """The connection record the store fetches through, or ``None``."""
        self.ensure_one()
        return None

    def _fetch_client(self, max_wait):
        """The marketplace's client (a context manager) for this store.

        :raise UserError: the connection cannot give one
        """
        raise NotImplementedError

    def _fetch_error_message(self, error):
        """A translated sentence for a typed error of the client."""
        return str(error)

    def _fetch_report_errors(self):
        """The client's errors that fail only the report being downloaded
        (a spoiled file, a request refused for it); the others stop the
        store's fetch."""
        return ()

    def _fetch_list(self, client, known):
        """The listed reports to download now, oldest first.

        :param known: ``{report_ref: connectbooks.marketplace.report}``
        :return: list of :class:`ListedReport`
        """
        raise NotImplementedError

    def _fetch_download(self, client, report, handle):
        """Download one report into ``handle`` (a temporary file).

        :return: the values the imported settlement keeps of its origin
            (``source``, the marketplace's references)
        """
        raise NotImplementedError

    # -- the fetch --

    def _marketplace_label(self):
        self.ensure_one()
        return dict(self._fields["marketplace"]._description_selection(self.env))[
            self.marketplace
        ]

    def _check_fetch_access(self):
        """Fetching imports settlements: the user must be allowed to read
        the stores and to create settlements."""
        self.check_access("read")
        self.env["connectbooks.settlement"].check_access("create")

    def _fetch(self, raise_errors, max_wait):
        """Fetch this store's new settlement reports and import them.

        :param raise_errors: a failure of the store as a whole (credentials,
            rate limit, marketplace down) raises a ``UserError`` when nothing
            was imported (button); else it is logged and posted on the store
            and the caller goes on (cron, list button)
        :param max_wait: longest wait for the marketplace's rate limit, in
            seconds
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
            result.busy = True
            if raise_errors:
                raise UserError(result.error)
            _logger.info("Fetch of store %s skipped: busy", store.id)
            return result
        if raise_errors:
            store._fetch_run(result, max_wait)
        else:
            try:
                with self.env.cr.savepoint():
                    store._fetch_run(result, max_wait)
            except Exception as error:  # one store's bug must not stop the others
                _logger.exception("Fetch of store %s crashed", store.id)
                result.error = self.env._(
                    "The %(marketplace)s fetch stopped on an unexpected error "
                    "(%(error)s); see the server log.",
                    marketplace=store._marketplace_label(),
                    error=type(error).__name__,
                )
        store._fetch_done(result, raise_errors)
        return result

    def _fetch_run(self, result, max_wait):
        """List the marketplace's reports; download and handle each one not
        handled yet, oldest first, each in its own savepoint."""
        if not self._fetch_connection():
            result.error = self.env._(
                "Store %(store)s has no %(marketplace)s connection.",
                store=self.name,
                marketplace=self._marketplace_label(),
            )
            return
        known = {
            record.report_ref: record for record in self.sudo().marketplace_report_ids
        }
        try:
            with self._fetch_client(max_wait) as client:
                todo = self._fetch_list(client, known)
                for report in todo:
                    self._fetch_one(client, report, known.get(report.ref), result)
        except ApiError as error:
            result.error = self._fetch_error_message(error)
            result.exception = error
            result.throttled = isinstance(error, ThrottledError)
            _logger.warning(
                "%s fetch of store %s stopped: %s",
                self.marketplace,
                self.id,
                type(error).__name__,
            )
        except UserError as error:
            result.error = str(error)

    @api.model
    def _fetch_report_todo(self, record):
        """Is a listed report to be downloaded? When never seen, when it
        failed, and when it was flagged as reissued and the settlement it
        clashed with has been deleted since (to take the new one)."""
        if not record:
            return True
        if record.state == REPORT_FAILED:
            return True
        return record.state == REPORT_REISSUED and not record.settlement_id

    def _fetch_one(self, client, report, record, result):
        """Download one report to a temporary file and handle it.

        A document the marketplace spoiled, or a file the importer refuses,
        fails only itself (recorded, tried again at the next fetch); a rate
        limit, refused credentials or an unreachable marketplace raise, and
        stop the store's fetch.
        """
        try:
            with tempfile.TemporaryFile() as handle:
                origin = self._fetch_download(client, report, handle)
                settlement, outcome, header = self._fetch_handle_file(
                    report, origin, handle
                )
        except ThrottledError:
            # Not a failure: this report and the next wait for the next run.
            raise
        except (UserError, *self._fetch_report_errors()) as error:
            message = (
                self._fetch_error_message(error)
                if isinstance(error, ApiError)
                else str(error)
            )
            self._fetch_report_failed(report, record, message)
            result.failed += 1
            return
        except ApiError as error:
            self._fetch_report_failed(report, record, self._fetch_error_message(error))
            result.failed += 1
            raise
        values = {
            "state": outcome,
            "settlement_id": settlement.id,
            "settlement_ref": header.settlement_id,
            "period_start": naive_utc(report.period_start or header.start),
            "period_end": naive_utc(report.period_end or header.end),
            "message": False,
        }
        if outcome == REPORT_IMPORTED:
            result.imported.append(header.settlement_id)
        elif outcome == REPORT_MATCHED:
            result.matched += 1
        else:
            result.reissued += 1
            values["message"] = self._fetch_reissued(report, header, settlement)
        self._fetch_report_record(report, record, values)
        if outcome == REPORT_IMPORTED and self.goflow_connection_id:
            # its costs: in a job of the Goflow account's own when a job
            # queue is installed, else now
            if settlement._sync_enqueue() is False:
                settlement._sync_goflow(raise_errors=False)

    def _fetch_handle_file(self, report, origin, handle):
        """Import the downloaded report, or recognise its settlement.

        :param origin: values written on the imported settlement
        :return: ``(settlement, outcome, header)``
        :raise UserError: the file is not a settlement the importer takes
        """
        handle.seek(0)
        try:
            head = handle.read(HEADER_PROBE_BYTES)
            if is_zip(head):
                handle.seek(0)
                probe = handle
            else:
                probe = io.BytesIO(head)
            header = self._settlement_reader(probe, report.filename).header
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
                self, handle, report.filename
            )
            settlement.write(origin)
        return settlement, outcome, header

    def _fetch_reissued(self, report, header, settlement):
        """Flag a report whose settlement is in the books with another total."""
        message = self.env._(
            "%(marketplace)s reissued settlement %(ref)s (report %(report)s): its "
            "total is now %(new)s, the settlement in Odoo has %(old)s. It was not "
            "imported again: check the difference, and to replace it reset the "
            "settlement to draft, delete it and fetch again (or upload the new "
            "file).",
            marketplace=self._marketplace_label(),
            ref=header.settlement_id,
            report=report.ref,
            new=header.total_amount,
            old=settlement.total_amount,
        )
        _logger.warning(
            "%s fetch of store %s: settlement %s reissued with another total "
            "(report %s)",
            self.marketplace,
            self.id,
            header.settlement_id,
            report.ref,
        )
        self.sudo().message_post(body=message)
        settlement.sudo().message_post(body=message)
        return message

    def _fetch_report_failed(self, report, record, message):
        _logger.warning(
            "%s fetch of store %s: report %s failed: %s",
            self.marketplace,
            self.id,
            report.ref,
            message,
        )
        self._fetch_report_record(
            report,
            record,
            {"state": REPORT_FAILED, "message": message, "settlement_id": False},
        )
        self.sudo().message_post(
            body=self.env._(
                "%(marketplace)s settlement report %(report)s could not be "
                "imported; it is tried again at the next fetch. %(reason)s",
                marketplace=self._marketplace_label(),
                report=report.ref,
                reason=message,
            )
        )

    def _fetch_report_record(self, report, record, values):
        """Create or update the record of a report (written by the fetch
        only: users read them)."""
        values = {
            "created_time": naive_utc(report.created_time),
            "period_start": naive_utc(report.period_start),
            "period_end": naive_utc(report.period_end),
            "document_ref": report.document_ref or False,
            "last_attempt_at": fields.Datetime.now(),
            **values,
        }
        if record:
            values["attempt_count"] = record.attempt_count + 1
            record.sudo().write(values)
            return record
        values.update(
            {"store_id": self.id, "report_ref": report.ref, "attempt_count": 1}
        )
        return self.env["connectbooks.marketplace.report"].sudo().create(values)

    def _fetch_done(self, result, raise_errors):
        """Stamp the store, post what happened, raise for the button."""
        summary = self._fetch_summary(result)
        if result.error and raise_errors and not result.imported:
            raise UserError(result.error)
        self.sudo().write(
            {
                "last_fetch_at": fields.Datetime.now(),
                "last_fetch_message": summary[:500],
            }
        )
        if result.error:
            _logger.warning(
                "%s fetch of store %s: %s", self.marketplace, self.id, result.error
            )
            if result.throttled:
                body = self.env._(
                    "%(marketplace)s's rate limit stopped the settlement fetch; it "
                    "continues at the next run. %(summary)s",
                    marketplace=self._marketplace_label(),
                    summary=summary,
                )
            else:
                body = self.env._(
                    "The settlement fetch from %(marketplace)s failed: %(error)s",
                    marketplace=self._marketplace_label(),
                    error=result.error,
                )
            self.sudo().message_post(body=body)
        elif result.imported:
            self.sudo().message_post(body=summary)

    def _fetch_summary(self, result):
        text = self.env._(
            "%(imported)s settlement(s) imported from %(marketplace)s, "
            "%(matched)s already there, %(reissued)s reissued, %(failed)s failed.",
            imported=len(result.imported),
            marketplace=self._marketplace_label(),
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
            line = f"{store.name}: {store._fetch_summary(result)}"
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
