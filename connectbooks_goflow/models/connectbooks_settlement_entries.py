from datetime import timedelta

from markupsafe import Markup

from odoo import _, fields, models
from odoo.exceptions import UserError

from ..core.costing import deposit_check
from ..core.entries import GOODS_OUT, cogs_pairs, settlement_lines, trueup_pairs
from ..core.vocabulary import SETTLEMENT_POSTED
from .connectbooks_settlement import GATE_SAMPLE


# One model, one file per concern (docs/architecture.md, "Layers"): the split
# is deliberate, so the classes are not merged.
class ConnectbooksSettlement(models.Model):
    """The journal entries of a settlement: the settlement entry (every
    amount mapped, the deposit to the clearing account), the COGS entry (per
    SKU, each item linked to its cost lines) and the true-ups of costs that
    change after posting (docs/architecture.md, "Journal entries")."""

    _inherit = "connectbooks.settlement"  # pylint: disable=consider-merging-classes-inherited

    def _create_entries(self):
        """Create and post the settlement entry and, when anything is
        costed, the COGS entry linked to its cost lines.

        :return: (settlement entry, COGS entry or an empty recordset)
        """
        settlement_vals = self._prepare_settlement_move_vals()
        cogs_vals, pairs = self._prepare_cogs_move_vals()
        vals_list = [settlement_vals] + ([cogs_vals] if cogs_vals else [])
        moves = (
            self.env["account.move"]
            .with_context(skip_invoice_sync=True)
            .create(vals_list)
        )
        moves.action_post()
        if cogs_vals:
            self._link_cost_lines(moves[1], pairs)
        return moves[0], moves[1:]

    # -- the settlement entry --------------------------------------------------

    def _prepare_settlement_move_vals(self):
        """One line per mapped (transaction type, amount type, description),
        and the deposit to the clearing account.

        :raise UserError: an unmapped combination, or the lines do not add up
            to the reported total
        """
        combos = self.env["connectbooks.settlement.line"]._amount_sums(self)
        decimals = self.currency_id.decimal_places
        lines, unmapped, deposit = settlement_lines(
            combos, self._account_resolver(), decimals
        )
        if unmapped:
            self._raise_unmapped(unmapped)
        self._check_deposit(deposit)
        line_vals = [
            self._move_line_vals(line.account_id, line.label, line.balance)
            for line in lines
        ]
        line_vals.append(
            self._move_line_vals(
                self.store_id.clearing_account_id.id,
                _("Deposit %(ref)s", ref=self.settlement_ref),
                deposit,
            )
        )
        self._balance_company_currency(line_vals)
        return self._move_vals("settlement", line_vals)

    def _account_resolver(self):
        """``(transaction type, amount type, description) -> account id or
        None``, by the store's amount mapping rules."""
        store = self.store_id
        index, rules = self.env["connectbooks.amount.mapping"]._mapping_index(store)

        def account_of(ttype, atype, desc):
            rule_id = index.match(ttype, atype, desc)
            if rule_id is None:
                return None
            return rules[rule_id]._account_for(store).id or None

        return account_of

    def _raise_unmapped(self, unmapped):
        listed = "\n".join(
            f"- {u.transaction_type} / {u.amount_type} / {u.amount_description}"
            f" ({u.amount})"
            for u in unmapped[:GATE_SAMPLE]
        )
        raise UserError(
            _(
                "Settlement %(name)s has %(count)s unmapped transaction(s); map "
                "them under Configuration > Amount Mappings (or give the store "
                "an account for their role):\n%(listed)s",
                name=self.display_name,
                count=len(unmapped),
                listed=listed,
            )
        )

    def _check_deposit(self, deposit):
        """The posting gate of the deposit check.

        :raise UserError: the lines do not add up to the reported total
        """
        check = deposit_check(
            deposit, self.total_amount, self.currency_id.decimal_places
        )
        if not check:
            raise UserError(
                _(
                    "Settlement %(name)s does not balance: its lines add up to "
                    "%(lines)s but the marketplace reports a deposit of %(total)s "
                    "(difference %(diff)s).",
                    name=self.display_name,
                    lines=check.rows_total,
                    total=self.currency_id.round(self.total_amount),
                    diff=check.difference,
                )
            )

    # -- the COGS entry ----------------------------------------------------------

    def _prepare_cogs_move_vals(self):
        """The COGS entry: per SKU and direction, COGS against inventory.

        :return: (vals or None when nothing is costed, list of CogsPair)
        """
        rows = self.env["goflow.cost.line"]._cogs_rows(self)
        pairs = cogs_pairs(row[:6] for row in rows)
        if not pairs:
            return None, pairs
        return self._move_vals("cogs", self._cogs_line_vals(pairs)), pairs

    def _cogs_line_vals(self, pairs, trueup=False):
        """Journal items of COGS pairs; a true-up moves value, not units, so
        its items carry no quantity."""
        store = self.store_id
        vals = []
        for pair in pairs:
            if trueup:
                name = _("COGS true-up %(sku)s", sku=pair.sku)
            else:
                what = _("refunded") if pair.direction != GOODS_OUT else _("sold")
                name = _(
                    "COGS %(sku)s (%(what)s %(qty)s)",
                    sku=pair.sku,
                    what=what,
                    qty=f"{pair.quantity.normalize():f}",
                )
            common = {
                "product_id": pair.product_id or False,
                "quantity": 0.0 if trueup else float(pair.quantity),
                # given, so Odoo does not look up an analytic distribution
                # model for each of thousands of items (one query each)
                "analytic_distribution": False,
                "tax_ids": [],
            }
            for account, balance in (
                (store.cogs_account_id, pair.cogs_balance),
                (store.inventory_account_id, -pair.cogs_balance),
            ):
                vals.append(
                    {**self._move_line_vals(account.id, name, balance), **common}
                )
        self._balance_company_currency(vals)
        return vals

    def _link_cost_lines(self, move, pairs):
        """Point every cost line at the COGS journal item that carries it and
        record what was booked for it (the base of later true-ups)."""
        items = self._cogs_items(move)
        if len(items) != len(pairs):
            raise UserError(_("The COGS entry does not match its cost lines."))
        self.env["goflow.cost.line"]._link_cogs_items(
            self, self._item_rows(pairs, items)
        )

    def _cogs_items(self, move):
        """The COGS-account items of ``move``, in the order they were made."""
        cogs_account = self.store_id.cogs_account_id
        return move.line_ids.filtered(
            lambda item: item.account_id == cogs_account
        ).sorted("id")

    def _item_rows(self, pairs, items):
        """``[(cost line id, journal item id)]`` of pairs and their items."""
        return [
            (line_id, item.id)
            for pair, item in zip(pairs, items, strict=True)
            for line_id in pair.cost_line_ids
        ]

    # -- common to every entry -------------------------------------------------

    def _move_line_vals(self, account_id, name, amount):
        """Values of a journal item of ``amount`` in the settlement currency
        (positive: debit), converted at the deposit date."""
        company = self.company_id
        currency = self.currency_id
        amount = float(amount)
        if currency == company.currency_id:
            return {"account_id": account_id, "name": name, "balance": amount}
        balance = currency._convert(
            amount, company.currency_id, company, self.deposit_date
        )
        return {
            "account_id": account_id,
            "name": name,
            "currency_id": currency.id,
            "amount_currency": amount,
            "balance": balance,
        }

    def _balance_company_currency(self, line_vals):
        """Foreign settlements: put the conversion's rounding remainder on
        the last line so the entry balances in company currency."""
        if self.currency_id == self.company_id.currency_id or not line_vals:
            return
        company_currency = self.company_id.currency_id
        remainder = company_currency.round(sum(v["balance"] for v in line_vals))
        if remainder:
            line_vals[-1]["balance"] = company_currency.round(
                line_vals[-1]["balance"] - remainder
            )

    def _move_vals(self, kind, line_vals, date=None):
        labels = {
            "settlement": _("Settlement %(ref)s", ref=self.settlement_ref),
            "cogs": _("COGS of settlement %(ref)s", ref=self.settlement_ref),
            "trueup": _("COGS true-up of settlement %(ref)s", ref=self.settlement_ref),
        }
        return {
            "move_type": "entry",
            "journal_id": self.store_id.journal_id.id,
            "date": date or self.deposit_date,
            "ref": labels[kind],
            "goflow_settlement_id": self.id,
            "goflow_move_kind": kind,
            "line_ids": [fields.Command.create(vals) for vals in line_vals],
        }

    def _first_open_date(self, date):
        """``date``, or the day after the latest lock date that covers it."""
        journal = self.store_id.journal_id
        locks = self.company_id._get_violated_lock_dates(date, False, journal)
        if locks:
            return locks[-1][0] + timedelta(days=1)
        return date

    # -- true-ups --------------------------------------------------------------

    def _goflow_post_trueups(self):
        """Post, for a posted settlement, the difference between its cost
        lines and what its COGS entries booked: one true-up entry per call,
        dated at the deposit date or, when that period is locked, on the
        first open day."""
        for settlement in self.filtered(lambda s: s.state == SETTLEMENT_POSTED):
            settlement._post_trueup()

    def _post_trueup(self):
        self.ensure_one()
        CostLine = self.env["goflow.cost.line"]
        rows = CostLine._cogs_rows(self, changed_only=True)
        if not rows:
            return
        pairs = trueup_pairs(row[:7] for row in rows)
        move = self.env["account.move"]
        if pairs:
            date = self._first_open_date(self.deposit_date)
            vals = self._move_vals(
                "trueup", self._cogs_line_vals(pairs, trueup=True), date
            )
            move = self.env["account.move"].create(vals)
            move.action_post()
            CostLine._link_trueup_items(
                self, self._item_rows(pairs, self._cogs_items(move))
            )
        changed = CostLine.browse([row[0] for row in rows])
        changed._mark_booked(self)
        self._post_trueup_message(move, rows, changed)
        self._refresh_estimate_flag()

    def _post_trueup_message(self, move, rows, changed):
        items = Markup("").join(
            Markup("<li>%s (%s): %s → %s</li>")
            % (sku, changed.browse(line_id).order_ref or "-", posted, total)
            for line_id, sku, _p, _s, _q, total, posted, _u in rows[:GATE_SAMPLE]
        )
        self.message_post(
            body=Markup("<p>%s</p><ul>%s</ul>")
            % (
                _(
                    "COGS true-up %(entry)s: %(count)s cost line(s) changed after "
                    "posting.",
                    entry=move.name or _("(nets to zero, no entry)"),
                    count=len(rows),
                ),
                items,
            )
        )

    # -- reset -----------------------------------------------------------------

    def _cancel_entries(self):
        """Cancel the settlement's posted entries (reset to draft, then
        cancel); an entry in a locked period is reversed on the first open
        day instead.

        :return: how many entries were cancelled or reversed
        """
        # Entries already reversed (a locked period at an earlier reset) and
        # the reversals themselves are history, not to be undone again.
        moves = (self.move_id | self.cogs_move_ids).filtered(
            lambda m: (
                m.state == "posted"
                and not m.reversed_entry_id
                and not m.reversal_move_ids
            )
        )
        for move in moves:
            try:
                with self.env.cr.savepoint():
                    move.button_draft()
                    move.button_cancel()
            except UserError:
                # A locked period: reverse on the first open day instead.
                reversal = move._reverse_moves(
                    [
                        {
                            "date": self._first_open_date(move.date),
                            "ref": _("Reversal of %(name)s", name=move.name),
                        }
                    ],
                    cancel=True,
                )
                reversal.goflow_settlement_id = self
                reversal.goflow_move_kind = move.goflow_move_kind
        return len(moves)
