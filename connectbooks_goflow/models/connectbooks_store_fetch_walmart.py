import logging
from contextlib import suppress
from datetime import datetime, time

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..core.settlement_fetch import recon_dates_to_fetch
from ..core.vocabulary import SETTLEMENT_SOURCE_WALMART
from ..core.walmart_client import (
    WalmartMalformedResponse,
    WalmartRequestError,
    format_report_date,
    parse_report_date,
)
from .connectbooks_store_fetch import ListedReport

_logger = logging.getLogger(__name__)

WALMART = "walmart"


# One model, one file per concern (docs/architecture.md, "Layers").
class ConnectbooksStore(models.Model):
    """Fetching a Walmart store's settlements: its connection; listing the
    dates Walmart has a reconciliation report (v1) for and downloading one.
    The fetch itself is ``connectbooks_store_fetch_run.py``; which Walmart number
    is the order id is the store's ``walmart_order_number``."""

    _inherit = "connectbooks.store"  # pylint: disable=consider-merging-classes-inherited

    walmart_connection_id = fields.Many2one(
        "connectbooks.walmart.connection",
        string="Walmart Connection",
        check_company=True,
        tracking=True,
    )

    @api.constrains("fetch_enabled", "walmart_connection_id", "marketplace")
    def _check_walmart_fetch(self):
        for store in self:
            if (
                store.marketplace == WALMART
                and store.fetch_enabled
                and not store.walmart_connection_id
            ):
                raise ValidationError(
                    self.env._(
                        "Store %(store)s: to fetch settlements, choose its Walmart "
                        "connection.",
                        store=store.name,
                    )
                )

    # -- the fetch's marketplace steps --

    @api.model
    def _fetch_connection_fields(self):
        return [*super()._fetch_connection_fields(), "walmart_connection_id"]

    @api.model
    def _fetch_connected_domains(self):
        return [
            *super()._fetch_connected_domains(),
            [("marketplace", "=", WALMART), ("walmart_connection_id", "!=", False)],
        ]

    def _fetch_supported(self):
        if self.marketplace != WALMART:
            return super()._fetch_supported()
        return True

    def _fetch_connection(self):
        if self.marketplace != WALMART:
            return super()._fetch_connection()
        return self.walmart_connection_id

    def _fetch_client(self, max_wait):
        if self.marketplace != WALMART:
            return super()._fetch_client(max_wait)
        return self.walmart_connection_id._marketplace_client(max_wait)

    def _fetch_error_message(self, error):
        if self.marketplace != WALMART:
            return super()._fetch_error_message(error)
        return self.walmart_connection_id._marketplace_error_message(error)

    def _fetch_report_errors(self):
        if self.marketplace != WALMART:
            return super()._fetch_report_errors()
        # A file that does not open or is not a file, a date Walmart no
        # longer serves: that date fails, the next ones are fetched.
        return (WalmartMalformedResponse, WalmartRequestError)

    def _fetch_list(self, client, known):
        """The recon dates Walmart lists that are new to the store (see
        :func:`~..core.settlement_fetch.recon_dates_to_fetch`); a report's
        ref is its date as Walmart writes it (MMDDYYYY)."""
        if self.marketplace != WALMART:
            return super()._fetch_list(client, known)
        available = client.available_recon_dates()
        done = []
        for ref, record in known.items():
            if self._fetch_report_todo(record):
                continue
            with suppress(ValueError):  # a report of another marketplace
                done.append(parse_report_date(ref))
        todo = recon_dates_to_fetch(
            available, fields.Datetime.now(), self.fetch_since or None, done
        )
        _logger.info(
            "Walmart fetch of store %s: %s date(s) listed, %s new",
            self.id,
            len(available),
            len(todo),
        )
        return [
            ListedReport(
                ref=format_report_date(day),
                filename=f"walmart-recon-{day.isoformat()}.zip",
                created_time=datetime.combine(day, time.min),
                listed=day,
            )
            for day in todo
        ]

    def _fetch_download(self, client, report, handle):
        if self.marketplace != WALMART:
            return super()._fetch_download(client, report, handle)
        download = client.download_recon_file(report.listed, handle)
        origin = {
            "source": SETTLEMENT_SOURCE_WALMART,
            "walmart_report_date": download.report_date,
        }
        if download.filename:
            origin["filename"] = download.filename
        return origin
