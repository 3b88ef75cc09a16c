"""Pure Python rules of connectbooks_goflow: no import of ``odoo`` here."""
