"""The Walmart default amount mappings (data file) cover Walmart's rows."""

import io
import xml.etree.ElementTree as ET
from pathlib import Path

from connectbooks_goflow.core.mapping import ROLE_CODES, MappingIndex, MappingRule
from connectbooks_goflow.core.settlement_const import WALMART_AMOUNT_TYPES
from connectbooks_goflow.core.settlement_parser import read_settlement
from tools.walmart_recon_generator import write_walmart_recon

ADDON = Path(__file__).resolve().parent.parent / "connectbooks_goflow"
DATA_FILE = ADDON / "data" / "connectbooks_amount_mapping_walmart_data.xml"
FIXTURE = Path(__file__).parent / "data" / "settlements" / "walmart_recon_v1.csv"


def walmart_rules():
    rules = []
    for record in ET.parse(DATA_FILE).getroot().iter("record"):
        values = {f.get("name"): (f.text or "") for f in record.iter("field")}
        rules.append((record.get("id"), values))
        assert values["marketplace"] == "walmart", record.get("id")
        assert values["role"] in ROLE_CODES, record.get("id")
        # An empty amount type matches only rows without one.
        assert values.get("amount_type") or values.get("amount_description"), (
            record.get("id")
        )
    return rules


def index():
    rules = walmart_rules()
    return MappingIndex(
        MappingRule(
            rule_id=number,
            store_id=None,
            transaction_type=values.get("transaction_type", ""),
            amount_type=values.get("amount_type", ""),
            amount_description=values.get("amount_description", ""),
        )
        for number, (_id, values) in enumerate(rules)
    ), rules


def role_of(mapping, rules, row):
    rule = mapping.match(row.transaction_type, row.amount_type, row.amount_description)
    return None if rule is None else rules[rule][1]["role"]


def test_data_file_is_in_the_manifest():
    manifest = (ADDON / "__manifest__.py").read_text()
    assert "data/connectbooks_amount_mapping_walmart_data.xml" in manifest


def test_rules_are_unique():
    fields = ("transaction_type", "amount_type", "amount_description")
    keys = [
        tuple(values.get(f, "").casefold() for f in fields)
        for _id, values in walmart_rules()
    ]
    assert len(keys) == len(set(keys))


def test_every_row_is_mapped():
    """The row without a type or an amount type too, by its description."""
    mapping, rules = index()
    _header, rows = read_settlement(io.BytesIO(FIXTURE.read_bytes()))
    roles = {row.line_no: role_of(mapping, rules, row) for row in rows}
    assert roles[5] == "fulfillment_fee", "WFS disposal fee, no amount type"
    assert None not in roles.values()
    assert roles[7] == "sales"
    assert roles[8] == roles[9] == "tax"
    assert roles[10] == "selling_fee"
    assert roles[11] == "fulfillment_fee"
    assert roles[13] == "promotion"
    assert roles[17] == "refund"
    assert roles[4] == "storage_fee"
    assert roles[6] == "reimbursement"


def test_every_documented_amount_type_has_a_rule():
    mapping, _rules = index()
    for amount_type in WALMART_AMOUNT_TYPES:
        assert mapping.match("Sale", amount_type, "") is not None, amount_type


def test_every_generated_row_is_mapped():
    mapping, rules = index()
    out = io.BytesIO()
    write_walmart_recon(out, orders=300, seed=8)
    _header, rows = read_settlement(io.BytesIO(out.getvalue()))
    unmapped = {
        (r.transaction_type, r.amount_type, r.amount_description)
        for r in rows
        if role_of(mapping, rules, r) is None
    }
    assert not unmapped
