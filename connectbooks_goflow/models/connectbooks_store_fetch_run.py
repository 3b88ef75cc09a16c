import gc
import io
import logging
import tempfile

from odoo import api, fields, models
from odoo.exceptions import UserError
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
from .connectbooks_store_fetch import FETCH_LOCK_KEY, HEADER_PROBE_BYTES, FetchResult

_logger = logging.getLogger(__name__)


# One model, one file per concern (docs/architecture.md, "Layers"): the split
# is deliberate, so the classes are not merged.
class ConnectbooksStore(models.Model):
    """The fetch of a store's settlements, whatever the marketplace: list the
    reports, skip those already seen, download and import each new one in a
    savepoint of its own, record every report's outcome, and sum it up. The
    settings, buttons and cron are ``connectbooks_store_fetch.py``; what each
    marketplace answers, ``connectbooks_store_fetch_<marketplace>.py``."""

    _inherit = "connectbooks.store"  # pylint: disable=consider-merging-classes-inherited

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
