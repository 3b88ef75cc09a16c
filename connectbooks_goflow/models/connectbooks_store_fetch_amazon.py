import logging
import re
from datetime import datetime

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..core import amazon_const
from ..core.amazon_client import AmazonDocumentError, AmazonRequestError
from ..core.settlement_fetch import fetch_window
from ..core.vocabulary import REPORT_FAILED, REPORT_HANDLED, SETTLEMENT_SOURCE_AMAZON
from .connectbooks_settlement_import import naive_utc
from .connectbooks_store_fetch import ListedReport

_logger = logging.getLogger(__name__)

AMAZON = "amazon"
# Marketplace ids are typed comma-separated (spaces and semicolons accepted).
_MARKETPLACE_SPLIT = re.compile(r"[\s,;]+")


# One model, one file per concern (docs/architecture.md, "Layers").
class ConnectbooksStore(models.Model):
    """Fetching an Amazon store's settlements: its connection and marketplace
    ids; listing the settlement reports of the fetch window (SP-API Reports)
    and downloading one. The fetch itself is ``connectbooks_store_fetch_run.py``.
    """

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

    @api.constrains(
        "amazon_marketplace_ids", "fetch_enabled", "amazon_connection_id", "marketplace"
    )
    def _check_amazon_fetch(self):
        for store in self:
            marketplaces = store._amazon_marketplace_list()
            if (
                store.marketplace == AMAZON
                and store.fetch_enabled
                and not (store.amazon_connection_id and marketplaces)
            ):
                raise ValidationError(
                    self.env._(
                        "Store %(store)s: to fetch settlements, choose its Amazon "
                        "connection and name its marketplace ids.",
                        store=store.name,
                    )
                )

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

    # -- the fetch's marketplace steps --

    @api.model
    def _fetch_connection_fields(self):
        return [*super()._fetch_connection_fields(), "amazon_connection_id"]

    @api.model
    def _fetch_connected_domains(self):
        return [
            *super()._fetch_connected_domains(),
            [("marketplace", "=", AMAZON), ("amazon_connection_id", "!=", False)],
        ]

    def _fetch_supported(self):
        if self.marketplace != AMAZON:
            return super()._fetch_supported()
        return True

    def _fetch_connection(self):
        if self.marketplace != AMAZON:
            return super()._fetch_connection()
        return self.amazon_connection_id

    def _fetch_client(self, max_wait):
        if self.marketplace != AMAZON:
            return super()._fetch_client(max_wait)
        return self.amazon_connection_id._marketplace_client(max_wait)

    def _fetch_error_message(self, error):
        if self.marketplace != AMAZON:
            return super()._fetch_error_message(error)
        return self.amazon_connection_id._marketplace_error_message(error)

    def _fetch_report_errors(self):
        if self.marketplace != AMAZON:
            return super()._fetch_report_errors()
        return (AmazonDocumentError, AmazonRequestError)

    def _fetch_list(self, client, known):
        """The settlement reports created in the fetch window (see
        :func:`~..core.settlement_fetch.fetch_window`) not handled yet."""
        if self.marketplace != AMAZON:
            return super()._fetch_list(client, known)
        records = known.values()
        since = fetch_window(
            fields.Datetime.now(),
            self.fetch_since or None,
            handled=[r.created_time for r in records if r.state in REPORT_HANDLED],
            failed=[r.created_time for r in records if r.state == REPORT_FAILED],
        )
        listed = list(
            client.list_settlement_reports(
                self._amazon_marketplace_list(), created_since=since
            )
        )
        todo = [
            report
            for report in listed
            if self._fetch_report_todo(known.get(report.report_id))
        ]
        todo.sort(
            key=lambda r: (naive_utc(r.created_time) or datetime.min, r.report_id)
        )
        _logger.info(
            "Amazon fetch of store %s since %s: %s listed, %s new",
            self.id,
            since,
            len(listed),
            len(todo),
        )
        return [
            ListedReport(
                ref=report.report_id,
                filename=f"amazon-report-{report.report_id}.txt",
                created_time=report.created_time,
                period_start=report.data_start_time,
                period_end=report.data_end_time,
                document_ref=report.document_id,
                listed=report,
            )
            for report in todo
        ]

    def _fetch_download(self, client, report, handle):
        if self.marketplace != AMAZON:
            return super()._fetch_download(client, report, handle)
        download = client.download_report(report.listed, handle)
        return {
            "source": SETTLEMENT_SOURCE_AMAZON,
            "amazon_report_ref": report.ref,
            "amazon_document_ref": download.document_id,
        }
