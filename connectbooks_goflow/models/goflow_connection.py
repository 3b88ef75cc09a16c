from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..core.goflow_client import (
    GoflowClient,
    GoflowConfigError,
    GoflowError,
    goflow_base_url,
)


class GoflowConnection(models.Model):
    _name = "goflow.connection"
    _description = "Goflow Connection"
    _order = "company_id, name"

    name = fields.Char(required=True)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company",
        required=True,
        default=lambda self: self.env.company,
        index=True,
    )
    subdomain = fields.Char(
        help="The subdomain of your Goflow account: the 'acme' in acme.goflow.com.",
    )
    # Secrets: only administrators may read or write them (docs/architecture.md,
    # "Security").
    api_token = fields.Char(
        string="API Token",
        groups="base.group_system",
        copy=False,
        help="Created by the Goflow account owner under Settings > API Tokens.",
    )
    beta_contact = fields.Char(
        string="Beta Contact E-mail",
        groups="base.group_system",
        copy=False,
        help="Sent as X-Beta-Contact on every call; Goflow warns this address "
        "before it changes a beta endpoint.",
    )
    has_token = fields.Boolean(compute="_compute_has_token")
    rate_limit = fields.Integer(
        string="Requests per Minute",
        default=120,
        help="Client-side limit; 0 means no limit.",
    )
    page_size = fields.Integer(default=100)
    timeout = fields.Integer(
        string="Timeout (seconds)",
        default=30,
        help="How long one request to Goflow may take, to connect and to answer.",
    )
    base_url = fields.Char(
        string="Base URL",
        groups="base.group_system",
        copy=False,
        help="Debug only: overrides https://<subdomain>.api.goflow.com/v1. "
        "Plain http is accepted for a loopback host only (the local sandbox). "
        "Administrators only: the API token is sent to this address.",
    )
    store_ids = fields.One2many("connectbooks.store", "goflow_connection_id")
    last_test_at = fields.Datetime(readonly=True, copy=False)
    last_test_message = fields.Char(readonly=True, copy=False)

    _sql_constraints = [
        (
            "rate_limit_positive",
            "CHECK(rate_limit >= 0)",
            "The rate limit cannot be negative.",
        ),
        ("timeout_positive", "CHECK(timeout > 0)", "The timeout must be positive."),
        (
            "page_size_positive",
            "CHECK(page_size > 0 AND page_size <= 1000)",
            "The page size must be between 1 and 1000.",
        ),
    ]

    @api.depends_context("uid")
    def _compute_has_token(self):
        for connection, token in zip(
            self, self.sudo().mapped("api_token"), strict=True
        ):
            connection.has_token = bool(token)

    @api.constrains("subdomain", "base_url")
    def _check_endpoint(self):
        """Refuse what the client would refuse, in the client's words."""
        for connection in self.sudo():
            try:
                goflow_base_url(connection.subdomain, connection.base_url or None)
            except GoflowConfigError as error:
                raise ValidationError(
                    _(
                        "Goflow connection %(name)s: %(error)s",
                        name=connection.name,
                        error=error,
                    )
                ) from error

    def action_test_connection(self):
        """Ask Goflow for its stores and record the answer on the connection
        (which needs the right to write it)."""
        self.ensure_one()
        self.check_access("write")
        try:
            with self._goflow_client() as client:
                result = client.test_connection()
        except GoflowError as error:
            message = str(error)
            self.sudo().write(
                {"last_test_at": fields.Datetime.now(), "last_test_message": message}
            )
            raise UserError(
                _(
                    "Goflow connection %(name)s failed: %(error)s",
                    name=self.name,
                    error=message,
                )
            ) from error
        message = _(
            "Connected to Goflow: %(count)s store(s) visible.",
            count=result.get("stores", 0),
        )
        self.sudo().write(
            {"last_test_at": fields.Datetime.now(), "last_test_message": message}
        )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": _("Goflow"),
                "message": message,
                "type": "success",
                "sticky": False,
            },
        }

    def _goflow_client(self):
        """Build the API client; the token is read with sudo and never leaves it.

        :return: a :class:`~..core.goflow_client.GoflowClient`
        """
        self.ensure_one()
        secret = self.sudo()
        if not secret.api_token:
            raise UserError(
                _(
                    "Goflow connection %(name)s has no API token; an administrator "
                    "must enter it.",
                    name=self.name,
                )
            )
        return GoflowClient(
            secret.api_token,
            subdomain=self.subdomain or None,
            base_url=secret.base_url or None,
            beta_contact=secret.beta_contact or None,
            rate_limit_per_minute=self.rate_limit or None,
            page_size=self.page_size or None,
            timeout=float(self.timeout or 30),
        )
