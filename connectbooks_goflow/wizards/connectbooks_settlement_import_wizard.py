import io
import logging

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..core.settlement_parser import SettlementFileError

_logger = logging.getLogger(__name__)


class ConnectbooksSettlementImportWizard(models.TransientModel):
    _name = "connectbooks.settlement.import.wizard"
    _description = "Import Settlement Files"

    store_id = fields.Many2one(
        "connectbooks.store",
        required=True,
        default=lambda self: self._default_store(),
        domain="[('company_id', 'in', allowed_company_ids)]",
    )
    attachment_ids = fields.Many2many(
        "ir.attachment",
        "connectbooks_settlement_import_wizard_attachment_rel",
        "wizard_id",
        "attachment_id",
        string="Files",
        help="Amazon Settlement V2 flat files (tab-separated), Walmart "
        "reconciliation reports (the CSV or its zip) or files in the generic CSV "
        "layout; one settlement per file.",
    )
    error_message = fields.Text(readonly=True)
    settlement_ids = fields.Many2many(
        "connectbooks.settlement",
        "connectbooks_settlement_import_wizard_settlement_rel",
        "wizard_id",
        "settlement_id",
        string="Imported Settlements",
        readonly=True,
    )

    @api.model
    def _default_store(self):
        if self.env.context.get("default_store_id"):
            return self.env.context["default_store_id"]
        stores = self.env["connectbooks.store"].search(
            [("company_id", "=", self.env.company.id)], limit=2
        )
        return stores.id if len(stores) == 1 else False

    def action_import(self):
        """Import every file in its own savepoint: a bad file writes nothing
        and does not stop the others. Whatever a file holds, the person sees
        a message naming it, never a traceback; a failure of the importer
        itself is also logged with its traceback for support."""
        self.ensure_one()
        if not self.attachment_ids:
            raise UserError(_("Add at least one settlement file to import."))
        Import = self.env["connectbooks.settlement.import"]
        imported = self.env["connectbooks.settlement"]
        errors = []
        failed = self.env["ir.attachment"]
        for attachment in self.attachment_ids:
            try:
                with self.env.cr.savepoint():
                    settlement = Import._import_file(
                        self.store_id,
                        # An empty upload has no content at all (raw is False).
                        io.BytesIO(attachment.raw or b""),
                        attachment.name,
                    )
            except UserError as error:
                cause = error.__cause__
                if isinstance(cause, SettlementFileError) and cause.unexpected:
                    _logger.exception(
                        "settlement file %r: the reader failed", attachment.name
                    )
                errors.append(
                    _("%(file)s:\n%(error)s", file=attachment.name, error=error)
                )
                failed |= attachment
                continue
            except Exception as error:  # never a traceback for an upload
                _logger.exception("settlement file %r: import failed", attachment.name)
                errors.append(
                    _(
                        "%(file)s:\nThe import failed unexpectedly (%(error)s). "
                        "Nothing was imported from this file; the error is "
                        "logged for support.",
                        file=attachment.name,
                        error=f"{type(error).__name__}: {error}",
                    )
                )
                failed |= attachment
                continue
            # The source file stays with its settlement, for audit.
            attachment.write({"res_model": settlement._name, "res_id": settlement.id})
            imported |= settlement
        failed.unlink()
        if not errors:
            return self._open_settlements(imported)
        self.write(
            {
                "error_message": "\n\n".join(errors),
                "settlement_ids": [fields.Command.set(imported.ids)],
                "attachment_ids": [fields.Command.clear()],
            }
        )
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
            "name": _("Import Settlement"),
        }

    def action_open_imported(self):
        self.ensure_one()
        return self._open_settlements(self.settlement_ids)

    def _open_settlements(self, settlements):
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "connectbooks_goflow.connectbooks_settlement_action"
        )
        if len(settlements) == 1:
            action.update(
                {
                    "view_mode": "form",
                    "views": [(False, "form")],
                    "res_id": settlements.id,
                }
            )
        else:
            action["domain"] = [("id", "in", settlements.ids)]
        return action
