import logging
from collections import defaultdict
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..core.costing import ODOO_AVERAGE_DAYS, prefill_costs
from ..core.goflow_client import GoflowError

_logger = logging.getLogger(__name__)

# ir.config_parameter: days of known costs the Odoo average looks back.
AVERAGE_WINDOW_PARAM = "connectbooks_goflow.average_window_days"


# One model, one file per concern (docs/architecture.md, "Layers"): the split
# is deliberate, so the classes are not merged.
class GoflowCostLine(models.Model):
    """The pre-fill of a missing cost: the current average cost of its SKU
    (docs/architecture.md, "Costing rules")."""

    _inherit = "goflow.cost.line"  # pylint: disable=consider-merging-classes-inherited

    def _goflow_prefill(self):
        """The current-average pre-fill of each line.

        Goflow's current average of the SKU, else the quantity-weighted
        average of the costs known in Odoo for it (same company and currency,
        last N days, no estimates), else Goflow's default cost, else nothing.
        One Goflow call per connection and one SQL query for all SKUs.

        :return: {line id: (unit cost Decimal or None, basis code, basis text)}
        """
        keys = self._goflow_prefill_keys()
        prefills = self._goflow_prefill_by_key(keys)[0]
        return {
            line.id: prefills[key][:3] for line, key in zip(self, keys, strict=True)
        }

    def _goflow_prefill_keys(self):
        """The pre-fill key of each line, in the order of ``self``: lines
        sharing a key share a pre-fill, as the average never mixes companies
        or currencies.

        The company and currency are read once per settlement (a handful),
        not through the related fields of every line.

        :return: ``[(company id, currency id, SKU or "")]``
        """
        of_settlement = {
            settlement.id: (settlement.company_id.id, settlement.currency_id.id)
            for settlement in self.settlement_id
        }
        return [
            (*of_settlement[line.settlement_id.id], line.sku or "") for line in self
        ]

    def _goflow_prefill_by_key(self, keys=None):
        """The pre-fill per key of these lines (see :meth:`_goflow_prefills`).

        :param keys: the lines' keys, as :meth:`_goflow_prefill_keys` gives
            them, when the caller has them already
        """
        if keys is None:
            keys = self._goflow_prefill_keys()
        connection_of = {
            settlement.id: settlement.store_id.goflow_connection_id
            for settlement in self.settlement_id
        }
        keys_by_connection = defaultdict(set)
        for line, key in zip(self, keys, strict=True):
            keys_by_connection[connection_of[line.settlement_id.id]].add(key)
        return self._goflow_prefills(keys_by_connection)

    @api.model
    def _goflow_prefills(self, keys_by_connection):
        """The pre-fill of each key, the keys grouped by the Goflow
        connection of their store (an empty recordset: none). The costs
        workbook calls this with the keys it read in SQL.

        :return: ``(prefills, problems, window)``: ``{key: (unit cost or None,
            basis code, basis text, number of Odoo costs averaged)}`` as
            :func:`~..core.costing.prefill_costs` gives it; the Goflow
            connections that could not be asked, as ``[(connection, error
            text)]`` (their SKUs fall back to the Odoo average); the window of
            the Odoo average in days
        """
        window = self._average_window_days()
        keys = set().union(*keys_by_connection.values())
        goflow, problems = self._goflow_product_costs(keys_by_connection)
        rows = self._odoo_cost_rows(keys, window)
        return prefill_costs(keys, goflow, rows, days=window), problems, window

    @api.model
    def _average_window_days(self):
        value = self.env["ir.config_parameter"].sudo().get_param(AVERAGE_WINDOW_PARAM)
        try:
            days = int(value) if value else ODOO_AVERAGE_DAYS
        except ValueError:
            days = ODOO_AVERAGE_DAYS
        return max(days, 1)

    @api.model
    def _odoo_cost_rows(self, keys, window):
        """Costs known in Odoo for the SKUs of these keys, in one query:
        ``[(key, quantity, unit cost, count)]``, one row per key with the
        exact quantity-weighted unit cost (numeric sums); the pre-fill rule
        itself is :func:`~..core.costing.prefill_costs`."""
        skus = list({sku for _company, _currency, sku in keys if sku})
        if not skus:
            return []
        company_ids = list({company for company, _currency, _sku in keys})
        since = fields.Date.context_today(self) - timedelta(days=window)
        rows = self._known_costs(skus, company_ids, since)
        return [
            ((company_id, currency_id, sku), quantity, value / quantity, count)
            for company_id, currency_id, sku, quantity, value, count in rows
            if quantity
        ]

    @api.model
    def _goflow_product_costs(self, keys_by_connection):
        """Goflow's (average, default) cost per pre-fill key, one batched call
        per connection. A connection that fails (or has no token) costs only
        the Goflow part of the pre-fill, never the caller.

        :return: ``({key: (average, default)}, [(connection, error text)])``
        """
        result = {}
        problems = []
        for connection in sorted(keys_by_connection, key=lambda c: c.id):
            if not connection:
                continue
            keys = keys_by_connection[connection]
            skus = sorted({sku for _company, _currency, sku in keys if sku})
            if not skus:
                continue
            try:
                with connection._goflow_client() as client:
                    costs = client.fetch_product_costs(skus)
            except (GoflowError, UserError) as error:
                _logger.info(
                    "Goflow product costs unavailable for connection %s: %s",
                    connection.id,
                    error,
                )
                problems.append((connection, str(error)))
                continue
            for key in sorted(keys):
                cost = costs.get(key[2])
                if cost is not None and key not in result:
                    result[key] = (cost.average_cost, cost.default_cost)
        return result, problems
