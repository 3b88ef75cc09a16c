from dataclasses import dataclass, field
from datetime import datetime, timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.osv import expression

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
    buttons, the hourly scheduled action and the hooks each marketplace
    answers (docs/architecture.md, "Fetching settlements"). The fetch itself
    (the lock, the records of what was fetched, the chatter trail) is
    ``connectbooks_store_fetch_run.py``; what differs by marketplace (list
    what is new, download one, what the settlement keeps of it) is in
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
