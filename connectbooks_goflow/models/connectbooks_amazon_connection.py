from odoo import fields, models

from ..core import amazon_const
from ..core.amazon_client import (
    AmazonAuthError,
    AmazonClient,
    AmazonConfigError,
    AmazonDocumentError,
    AmazonError,
)

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


class ConnectbooksAmazonConnection(models.Model):
    """One Amazon seller account in one selling region, through a private
    SP-API app (docs/architecture.md, "Fetching settlements")."""

    _name = "connectbooks.amazon.connection"
    _inherit = "connectbooks.marketplace.connection"
    _description = "Amazon Connection"
    _marketplace_name = "Amazon"
    _credential_fields = ("client_id", "client_secret", "refresh_token")
    _client_setting_fields = ("region", "endpoint", "token_url")
    _client_error = AmazonError
    _client_config_error = AmazonConfigError

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

    def _marketplace_error_message(self, error):
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
        if isinstance(error, AmazonDocumentError):
            return self.env._(
                "Amazon connection %(name)s: a report document arrived corrupt or "
                "cut short; nothing of it was imported and it is downloaded again "
                "at the next fetch. (%(detail)s)",
                name=name,
                detail=str(error),
            )
        return super()._marketplace_error_message(error)

    def _new_client(self, credentials, **options):
        return AmazonClient(
            *credentials,
            self.region,
            endpoint=self.endpoint or None,
            token_url=self.token_url or None,
            **options,
        )

    def _test_connection_message(self, client):
        """Exchange the refresh token and list one page of settlement
        reports."""
        marketplaces = self._test_marketplaces()
        result = client.test_connection(marketplaces)
        return self.env._(
            "Connected to Amazon: %(count)s settlement report(s) on the first page "
            "for %(marketplaces)s.",
            count=result.get("reports", 0),
            marketplaces=", ".join(marketplaces),
        )

    def _credentials_missing_message(self):
        return self.env._(
            "Amazon connection %(name)s lacks its client id, client secret "
            "or refresh token; an administrator must enter them.",
            name=self.name,
        )

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
