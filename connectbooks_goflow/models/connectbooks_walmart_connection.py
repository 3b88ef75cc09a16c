from odoo import fields, models

from ..core.walmart_client import (
    WalmartAuthError,
    WalmartClient,
    WalmartConfigError,
    WalmartError,
    WalmartMalformedResponse,
    WalmartNotFoundError,
)


class ConnectbooksWalmartConnection(models.Model):
    """One Walmart seller account, through an API key of the Walmart
    Developer Portal (docs/architecture.md, "Fetching settlements")."""

    _name = "connectbooks.walmart.connection"
    _inherit = "connectbooks.marketplace.connection"
    _description = "Walmart Connection"
    _marketplace_name = "Walmart"
    _credential_fields = ("client_id", "client_secret")
    _client_setting_fields = ("base_url", "token_url")
    _client_error = WalmartError
    _client_config_error = WalmartConfigError

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

    def _marketplace_error_message(self, error):
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
        if isinstance(error, WalmartConfigError):
            return self.env._(
                "Walmart connection %(name)s: %(detail)s Check the connection's "
                "settings.",
                name=name,
                detail=str(error),
            )
        return super()._marketplace_error_message(error)

    def _new_client(self, credentials, **options):
        return WalmartClient(
            *credentials,
            base_url=self.base_url or None,
            token_url=self.token_url or None,
            **options,
        )

    def _test_connection_message(self, client):
        """Obtain an access token and list the available reconciliation
        report dates."""
        result = client.test_connection()
        if result.get("latest"):
            return self.env._(
                "Connected to Walmart: %(count)s reconciliation report(s) available, "
                "the latest of %(latest)s.",
                count=result["dates"],
                latest=fields.Date.to_string(result["latest"]),
            )
        return self.env._(
            "Connected to Walmart: no reconciliation report is available yet."
        )

    def _credentials_missing_message(self):
        return self.env._(
            "Walmart connection %(name)s lacks its client id or client "
            "secret; an administrator must enter them.",
            name=self.name,
        )
