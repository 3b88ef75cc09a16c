import logging

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..core import amazon_const
from ..core.amazon_client import (
    AmazonAuthError,
    AmazonClient,
    AmazonConfigError,
    AmazonDocumentError,
    AmazonError,
    AmazonNetworkError,
    AmazonServerError,
    AmazonThrottledError,
)

_logger = logging.getLogger(__name__)

REGIONS = [
    (amazon_const.REGION_NA, "North America"),
    (amazon_const.REGION_EU, "Europe"),
    (amazon_const.REGION_FE, "Far East"),
]
# Ours: the marketplace a connection test lists when no store of the
# connection names one (amazon.com, amazon.co.uk, amazon.co.jp).
TEST_MARKETPLACE = {
    amazon_const.REGION_NA: amazon_const.MARKETPLACE_IDS["US"],
    amazon_const.REGION_EU: amazon_const.MARKETPLACE_IDS["UK"],
    amazon_const.REGION_FE: "A1VC38T7YXB528",  # amazon.co.jp [SP-MARKETPLACES]
}
# Seconds to connect and to answer: one number (a report's download streams,
# so this bounds each read, not the whole file). Odoo's request hooks, in
# its tests, compare the timeout with a number.
REQUEST_TIMEOUT = 60.0
# Placeholders for the settings check: the client refuses empty secrets.
_CHECK_SECRET = "settings-check"


class ConnectbooksAmazonConnection(models.Model):
    """One Amazon seller account in one selling region, through a private
    SP-API app (docs/architecture.md, "Fetching settlements")."""

    _name = "connectbooks.amazon.connection"
    _description = "Amazon Connection"
    _order = "company_id, name"

    name = fields.Char(required=True)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company",
        required=True,
        default=lambda self: self.env.company,
        index=True,
    )
    region = fields.Selection(
        REGIONS,
        required=True,
        default=amazon_const.REGION_NA,
        help="Where the seller account sells: North America (US, CA, MX, BR), "
        "Europe (UK, DE, FR, IT, ES, ... and IN, AE) or Far East (JP, AU, SG).",
    )
    # Secrets: only administrators read or write them (docs/architecture.md,
    # "Security"); the client masks them in its messages and logs.
    client_id = fields.Char(
        string="LWA Client ID",
        groups="base.group_system",
        copy=False,
        help="Seller Central > Apps and Services > Develop Apps > View, under "
        "LWA credentials: amzn1.application-oa2-client....",
    )
    client_secret = fields.Char(
        string="LWA Client Secret",
        groups="base.group_system",
        copy=False,
    )
    refresh_token = fields.Char(
        groups="base.group_system",
        copy=False,
        help="Shown once when the app is authorised (Atzr|...).",
    )
    has_credentials = fields.Boolean(compute="_compute_has_credentials")
    endpoint = fields.Char(
        string="SP-API Endpoint",
        groups="base.group_system",
        copy=False,
        help="Debug only: overrides the region's SP-API address. Plain http is "
        "accepted for a loopback host only (the local sandbox). Administrators "
        "only: the access token is sent to this address.",
    )
    token_url = fields.Char(
        string="LWA Token URL",
        groups="base.group_system",
        copy=False,
        help="Debug only: overrides https://api.amazon.com/auth/o2/token. "
        "Administrators only: the client secret and refresh token are sent to "
        "this address.",
    )
    store_ids = fields.One2many("connectbooks.store", "amazon_connection_id")
    last_test_at = fields.Datetime(readonly=True, copy=False)
    last_test_message = fields.Char(readonly=True, copy=False)

    @api.depends_context("uid")
    def _compute_has_credentials(self):
        for connection in self:
            secret = connection.sudo()
            connection.has_credentials = bool(
                secret.client_id and secret.client_secret and secret.refresh_token
            )

    @api.constrains("region", "endpoint", "token_url")
    def _check_addresses(self):
        """Refuse the addresses the client would refuse, in its words."""
        for connection in self.sudo():
            try:
                with AmazonClient(
                    _CHECK_SECRET,
                    _CHECK_SECRET,
                    _CHECK_SECRET,
                    connection.region,
                    endpoint=connection.endpoint or None,
                    token_url=connection.token_url or None,
                ):
                    pass
            except AmazonConfigError as error:
                raise ValidationError(
                    self.env._(
                        "Amazon connection %(name)s: %(error)s",
                        name=connection.name,
                        error=str(error),
                    )
                ) from error

    def action_test_connection(self):
        """Exchange the refresh token and list one page of settlement
        reports; the answer is written on the connection (which needs the
        right to write it)."""
        self.ensure_one()
        self.check_access("write")
        marketplaces = self._test_marketplaces()
        try:
            with self._amazon_client() as client:
                result = client.test_connection(marketplaces)
        except AmazonError as error:
            message = self._amazon_error_message(error)
            _logger.info(
                "Amazon connection %s: test failed (%s)", self.id, type(error).__name__
            )
            self.sudo().write(
                {"last_test_at": fields.Datetime.now(), "last_test_message": message}
            )
            raise UserError(message) from error
        message = self.env._(
            "Connected to Amazon: %(count)s settlement report(s) on the first page "
            "for %(marketplaces)s.",
            count=result.get("reports", 0),
            marketplaces=", ".join(marketplaces),
        )
        self.sudo().write(
            {"last_test_at": fields.Datetime.now(), "last_test_message": message}
        )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Amazon"),
                "message": message,
                "type": "success",
                "sticky": False,
            },
        }

    def _test_marketplaces(self):
        """The marketplace ids the stores of this connection name, else the
        region's main marketplace."""
        self.ensure_one()
        ids = []
        for store in self.sudo().with_context(active_test=False).store_ids:
            for value in store._amazon_marketplace_list():
                if value not in ids:
                    ids.append(value)
        return ids[: amazon_const.MAX_MARKETPLACE_IDS] or [
            TEST_MARKETPLACE[self.region]
        ]

    def _amazon_client(self, max_wait=None):
        """Build the SP-API client; the secrets are read with sudo here and
        go nowhere else.

        :param max_wait: longest wait for Amazon's rate limit (seconds);
            ``None`` = the client's default
        :return: an :class:`~..core.amazon_client.AmazonClient` (a context
            manager)
        :raise UserError: credentials missing or settings the client refuses
        """
        self.ensure_one()
        secret = self.sudo()
        if not (secret.client_id and secret.client_secret and secret.refresh_token):
            raise UserError(
                self.env._(
                    "Amazon connection %(name)s lacks its client id, client secret "
                    "or refresh token; an administrator must enter them.",
                    name=self.name,
                )
            )
        options = {}
        if max_wait is not None:
            options["max_wait"] = max_wait
        try:
            return AmazonClient(
                secret.client_id,
                secret.client_secret,
                secret.refresh_token,
                self.region,
                endpoint=secret.endpoint or None,
                token_url=secret.token_url or None,
                timeout=REQUEST_TIMEOUT,
                **options,
            )
        except AmazonConfigError as error:
            raise UserError(self._amazon_error_message(error)) from error

    def _amazon_error_message(self, error):
        """A translated sentence a bookkeeper can act on, for a typed error
        of the client (whose own text is masked of secrets)."""
        self.ensure_one()
        name = self.name
        reason = getattr(error, "reason", None)
        if isinstance(error, AmazonAuthError) and reason == "invalid_grant":
            return self.env._(
                "Amazon connection %(name)s: Amazon refused the refresh token; it "
                "was revoked or has expired. Authorise the app again in Seller "
                "Central (Apps and Services > Develop Apps > Authorize) and paste "
                "the new refresh token.",
                name=name,
            )
        if isinstance(error, AmazonAuthError) and reason == "invalid_client":
            return self.env._(
                "Amazon connection %(name)s: Amazon refused the client id or the "
                "client secret. Copy both again from Seller Central (Develop Apps "
                "> View, under LWA credentials); a rotated secret must be replaced.",
                name=name,
            )
        if isinstance(error, AmazonAuthError):
            return self.env._(
                "Amazon connection %(name)s: Amazon denied access to the "
                "settlement reports. Check the region (%(region)s now): it must be "
                "the one the seller account sells in; and check that the app has "
                "the Finance and Accounting role. (%(detail)s)",
                name=name,
                region=dict(REGIONS)[self.region],
                detail=str(error),
            )
        if isinstance(error, AmazonThrottledError):
            return self.env._(
                "Amazon connection %(name)s: Amazon's rate limit is used up for "
                "now; the fetch continues at the next run.",
                name=name,
            )
        if isinstance(error, AmazonDocumentError):
            return self.env._(
                "Amazon connection %(name)s: a report document arrived corrupt or "
                "cut short; nothing of it was imported and it is downloaded again "
                "at the next fetch. (%(detail)s)",
                name=name,
                detail=str(error),
            )
        if isinstance(error, (AmazonServerError, AmazonNetworkError)):
            return self.env._(
                "Amazon connection %(name)s: Amazon could not be reached or "
                "failed; the fetch is tried again at the next run. (%(detail)s)",
                name=name,
                detail=str(error),
            )
        return self.env._(
            "Amazon connection %(name)s: %(detail)s", name=name, detail=str(error)
        )
