import logging

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..core.walmart_client import (
    WalmartAuthError,
    WalmartClient,
    WalmartConfigError,
    WalmartError,
    WalmartMalformedResponse,
    WalmartNetworkError,
    WalmartNotFoundError,
    WalmartServerError,
    WalmartThrottledError,
)

_logger = logging.getLogger(__name__)

# Seconds to connect and to answer: one number (a recon file streams, so this
# bounds each read, not the whole file). Odoo's request hooks, in its tests,
# compare the timeout with a number.
REQUEST_TIMEOUT = 60.0
# Placeholders for the settings check: the client refuses empty secrets.
_CHECK_SECRET = "settings-check"


class ConnectbooksWalmartConnection(models.Model):
    """One Walmart seller account, through an API key of the Walmart
    Developer Portal (docs/architecture.md, "Fetching settlements")."""

    _name = "connectbooks.walmart.connection"
    _description = "Walmart Connection"
    _order = "company_id, name"

    name = fields.Char(required=True)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company",
        required=True,
        default=lambda self: self.env.company,
        index=True,
    )
    # Secrets: only administrators read or write them (docs/architecture.md,
    # "Security"); the client masks them in its messages and logs.
    client_id = fields.Char(
        string="Client ID",
        groups="base.group_system",
        copy=False,
        help="Walmart Developer Portal > API Keys: the client id of the "
        "seller's production key.",
    )
    client_secret = fields.Char(
        groups="base.group_system",
        copy=False,
        help="Shown with the client id; a secret reset in the portal must be "
        "replaced here.",
    )
    has_credentials = fields.Boolean(compute="_compute_has_credentials")
    base_url = fields.Char(
        string="API Base URL",
        groups="base.group_system",
        copy=False,
        help="Debug only: overrides https://marketplace.walmartapis.com. Plain "
        "http is accepted for a loopback host only (the local sandbox). "
        "Administrators only: the access token is sent to this address.",
    )
    token_url = fields.Char(
        string="Token URL",
        groups="base.group_system",
        copy=False,
        help="Debug only: overrides <API base URL>/v3/token. Administrators "
        "only: the client id and secret are sent to this address.",
    )
    store_ids = fields.One2many("connectbooks.store", "walmart_connection_id")
    last_test_at = fields.Datetime(readonly=True, copy=False)
    last_test_message = fields.Char(readonly=True, copy=False)

    @api.depends_context("uid")
    def _compute_has_credentials(self):
        for connection in self:
            secret = connection.sudo()
            connection.has_credentials = bool(secret.client_id and secret.client_secret)

    @api.constrains("base_url", "token_url")
    def _check_addresses(self):
        """Refuse the addresses the client would refuse, in its words."""
        for connection in self.sudo():
            try:
                with WalmartClient(
                    _CHECK_SECRET,
                    _CHECK_SECRET,
                    base_url=connection.base_url or None,
                    token_url=connection.token_url or None,
                ):
                    pass
            except WalmartConfigError as error:
                raise ValidationError(
                    self.env._(
                        "Walmart connection %(name)s: %(error)s",
                        name=connection.name,
                        error=str(error),
                    )
                ) from error

    def action_test_connection(self):
        """Obtain an access token and list the available reconciliation
        report dates; the answer is written on the connection (which needs
        the right to write it)."""
        self.ensure_one()
        self.check_access("write")
        try:
            with self._walmart_client() as client:
                result = client.test_connection()
        except WalmartError as error:
            message = self._walmart_error_message(error)
            _logger.info(
                "Walmart connection %s: test failed (%s)", self.id, type(error).__name__
            )
            self.sudo().write(
                {"last_test_at": fields.Datetime.now(), "last_test_message": message}
            )
            raise UserError(message) from error
        if result.get("latest"):
            message = self.env._(
                "Connected to Walmart: %(count)s reconciliation report(s) available, "
                "the latest of %(latest)s.",
                count=result["dates"],
                latest=fields.Date.to_string(result["latest"]),
            )
        else:
            message = self.env._(
                "Connected to Walmart: no reconciliation report is available yet."
            )
        self.sudo().write(
            {"last_test_at": fields.Datetime.now(), "last_test_message": message}
        )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Walmart"),
                "message": message,
                "type": "success",
                "sticky": False,
            },
        }

    def _walmart_client(self, max_wait=None):
        """Build the Walmart client; the secrets are read with sudo here and
        go nowhere else.

        :param max_wait: longest wait for Walmart's rate limit (seconds);
            ``None`` = the client's default
        :return: a :class:`~..core.walmart_client.WalmartClient` (a context
            manager)
        :raise UserError: credentials missing or settings the client refuses
        """
        self.ensure_one()
        secret = self.sudo()
        if not (secret.client_id and secret.client_secret):
            raise UserError(
                self.env._(
                    "Walmart connection %(name)s lacks its client id or client "
                    "secret; an administrator must enter them.",
                    name=self.name,
                )
            )
        options = {}
        if max_wait is not None:
            options["max_wait"] = max_wait
        try:
            return WalmartClient(
                secret.client_id,
                secret.client_secret,
                base_url=secret.base_url or None,
                token_url=secret.token_url or None,
                timeout=REQUEST_TIMEOUT,
                **options,
            )
        except WalmartConfigError as error:
            raise UserError(self._walmart_error_message(error)) from error

    def _walmart_error_message(self, error):
        """A translated sentence a bookkeeper can act on, for a typed error
        of the client (whose own text is masked of secrets)."""
        self.ensure_one()
        name = self.name
        reason = getattr(error, "reason", None)
        if isinstance(error, WalmartAuthError) and reason == "access_denied":
            return self.env._(
                "Walmart connection %(name)s: Walmart denied access to the "
                "reconciliation reports. In the Walmart Developer Portal (API Keys), "
                "give this key the Reports permission (view is enough), then try "
                "again. (%(detail)s)",
                name=name,
                detail=str(error),
            )
        if isinstance(error, WalmartAuthError):
            return self.env._(
                "Walmart connection %(name)s: Walmart refused the client id or the "
                "client secret. Copy both again from the Walmart Developer Portal "
                "(API Keys), the production key of this seller; a secret that was "
                "reset must be replaced.",
                name=name,
            )
        if isinstance(error, WalmartThrottledError):
            return self.env._(
                "Walmart connection %(name)s: Walmart's rate limit is used up for "
                "now; the fetch continues at the next run.",
                name=name,
            )
        if isinstance(error, WalmartNotFoundError):
            return self.env._(
                "Walmart connection %(name)s: Walmart has no reconciliation report "
                "for this date any more; if the payment is needed, download its "
                "report in Seller Center (Payments) and import it. (%(detail)s)",
                name=name,
                detail=str(error),
            )
        if isinstance(error, WalmartMalformedResponse):
            return self.env._(
                "Walmart connection %(name)s: a reconciliation report arrived "
                "damaged or was not a report; nothing of it was imported and it is "
                "downloaded again at the next fetch. (%(detail)s)",
                name=name,
                detail=str(error),
            )
        if isinstance(error, (WalmartServerError, WalmartNetworkError)):
            return self.env._(
                "Walmart connection %(name)s: Walmart could not be reached or "
                "failed; the fetch is tried again at the next run. (%(detail)s)",
                name=name,
                detail=str(error),
            )
        if isinstance(error, WalmartConfigError):
            return self.env._(
                "Walmart connection %(name)s: %(detail)s Check the connection's "
                "settings.",
                name=name,
                detail=str(error),
            )
        return self.env._(
            "Walmart connection %(name)s: %(detail)s", name=name, detail=str(error)
        )
