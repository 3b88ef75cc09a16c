import logging

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..core.http_policy import ServerError, ThrottledError

_logger = logging.getLogger(__name__)

# Seconds to connect and to answer: one number (a report's download streams,
# so this bounds each read, not the whole file). Odoo's request hooks, in
# its tests, compare the timeout with a number.
REQUEST_TIMEOUT = 60.0
# Placeholders for the settings check: the clients refuse empty secrets.
_CHECK_SECRET = "settings-check"


class ConnectbooksMarketplaceConnection(models.AbstractModel):
    """What a marketplace seller account is whatever the marketplace (Amazon,
    Walmart): its company, its secrets read with sudo in one place, its
    Test Connection button, and its client's errors in sentences a
    bookkeeper can act on (docs/architecture.md, "Fetching settlements").

    Each concrete model names its marketplace, its secret fields, the
    fields its client checks and its client's error classes, and answers
    :meth:`_new_client`, :meth:`_test_connection_message` and
    :meth:`_credentials_missing_message`.
    """

    _name = "connectbooks.marketplace.connection"
    _description = "Marketplace Connection"
    _order = "company_id, name"
    # How bookkeepers call the marketplace, in messages ("Amazon").
    _marketplace_name = None
    # The secret fields the client needs, in the order it takes them.
    _credential_fields = ()
    # The fields whose values the client checks when it is built.
    _client_setting_fields = ()
    # The client's error classes: all of them, and the settings it refuses.
    _client_error = None
    _client_config_error = None

    name = fields.Char(required=True)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company",
        required=True,
        default=lambda self: self.env.company,
        index=True,
    )
    has_credentials = fields.Boolean(compute="_compute_has_credentials")
    last_test_at = fields.Datetime(readonly=True, copy=False)
    last_test_message = fields.Char(readonly=True, copy=False)

    @api.depends_context("uid")
    def _compute_has_credentials(self):
        for connection in self:
            connection.has_credentials = connection.sudo()._credentials_set()

    @api.constrains(lambda self: self._client_setting_fields)
    def _check_addresses(self):
        """Refuse the addresses the client would refuse, in its words."""
        for connection in self.sudo():
            placeholders = (_CHECK_SECRET,) * len(self._credential_fields)
            try:
                with connection._new_client(placeholders):
                    pass
            except self._client_config_error as error:
                raise ValidationError(
                    self.env._(
                        "%(marketplace)s connection %(name)s: %(error)s",
                        marketplace=self._marketplace_name,
                        name=connection.name,
                        error=str(error),
                    )
                ) from error

    def action_test_connection(self):
        """Ask the marketplace what :meth:`_test_connection_message` says;
        the answer is written on the connection (which needs the right to
        write it)."""
        self.ensure_one()
        self.check_access("write")
        try:
            with self._marketplace_client() as client:
                message = self._test_connection_message(client)
        except self._client_error as error:
            message = self._marketplace_error_message(error)
            _logger.info(
                "%s connection %s: test failed (%s)",
                self._marketplace_name,
                self.id,
                type(error).__name__,
            )
            self._write_test_result(message)
            raise UserError(message) from error
        self._write_test_result(message)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self._marketplace_name,
                "message": message,
                "type": "success",
                "sticky": False,
            },
        }

    def _marketplace_client(self, max_wait=None):
        """Build the marketplace's client; the secrets are read with sudo
        here and go nowhere else.

        :param max_wait: longest wait for the marketplace's rate limit
            (seconds); ``None`` = the client's default
        :return: the client (a context manager)
        :raise UserError: credentials missing or settings the client refuses
        """
        self.ensure_one()
        secret = self.sudo()
        if not secret._credentials_set():
            raise UserError(self._credentials_missing_message())
        options = {"timeout": REQUEST_TIMEOUT}
        if max_wait is not None:
            options["max_wait"] = max_wait
        try:
            return secret._new_client(secret._credentials(), **options)
        except self._client_config_error as error:
            raise UserError(self._marketplace_error_message(error)) from error

    def _marketplace_error_message(self, error):
        """A translated sentence a bookkeeper can act on, for a typed error
        of the client (whose own text is masked of secrets). Each
        marketplace says its own errors first and leaves the rest here.

        :param error: an error of the client, or of another remote party
            met during a fetch (said as it is)
        :return: the sentence
        """
        self.ensure_one()
        own = isinstance(error, self._client_error)
        if own and isinstance(error, ThrottledError):
            return self.env._(
                "%(marketplace)s connection %(name)s: %(marketplace)s's rate limit "
                "is used up for now; the fetch continues at the next run.",
                marketplace=self._marketplace_name,
                name=self.name,
            )
        # NetworkError is a ServerError.
        if own and isinstance(error, ServerError):
            return self.env._(
                "%(marketplace)s connection %(name)s: %(marketplace)s could not be "
                "reached or failed; the fetch is tried again at the next run. "
                "(%(detail)s)",
                marketplace=self._marketplace_name,
                name=self.name,
                detail=str(error),
            )
        return self.env._(
            "%(marketplace)s connection %(name)s: %(detail)s",
            marketplace=self._marketplace_name,
            name=self.name,
            detail=str(error),
        )

    def _credentials(self):
        """The secrets, in the order of ``_credential_fields`` (call on a
        sudo record)."""
        return tuple(self[name] for name in self._credential_fields)

    def _credentials_set(self):
        """Are all the secrets entered? (call on a sudo record)"""
        return all(self._credentials())

    def _write_test_result(self, message):
        """Record a Test Connection's answer, whoever asked."""
        self.sudo().write(
            {"last_test_at": fields.Datetime.now(), "last_test_message": message}
        )

    def _new_client(self, credentials, **options):
        """The client for these settings (called on a sudo record).

        :param credentials: the secrets, in the order of
            ``_credential_fields``
        :param options: keyword arguments of the client (``timeout``,
            ``max_wait``)
        :return: the client (a context manager)
        :raise: ``_client_config_error`` for settings the client refuses
        """
        raise NotImplementedError

    def _test_connection_message(self, client):
        """Run the marketplace's connection test through ``client``.

        :return: the translated sentence saying what the marketplace answered
        :raise: ``_client_error`` when the test fails
        """
        raise NotImplementedError

    def _credentials_missing_message(self):
        """The translated sentence naming the secrets an administrator must
        enter."""
        raise NotImplementedError
