import gzip
import io
import zipfile
from unittest.mock import patch

from PIL import Image

from odoo.tests import tagged
from odoo.tools.misc import file_open

from ..core import settlement_parser
from ..models import connectbooks_settlement_import as importer
from .common import ConnectbooksCase

GOOD = "connectbooks_goflow/tests/data/amazon_v2_small.txt"
WIZARD_LOG = (
    "odoo.addons.connectbooks_goflow.wizards.connectbooks_settlement_import_wizard"
)
V1_HEADER = (
    "settlement-id\tsettlement-start-date\tsettlement-end-date\tdeposit-date\t"
    "total-amount\tcurrency\ttransaction-type\torder-id\tmerchant-order-id\t"
    "adjustment-id\tshipment-id\tmarketplace-name\tshipment-fee-type\t"
    "shipment-fee-amount\torder-fee-type\torder-fee-amount\tfulfillment-id\t"
    "posted-date\torder-item-code\tmerchant-order-item-id\t"
    "merchant-adjustment-item-id\tsku\tquantity-purchased\tprice-type\t"
    "price-amount\titem-related-fee-type\titem-related-fee-amount\t"
    "misc-fee-amount\tother-fee-amount\tother-fee-reason-description\t"
    "direct-payment-type\tdirect-payment-amount\tother-amount"
)
GENERIC_HEADER = (
    "settlement_id,deposit_date,total_amount,currency,transaction_type,order_id,"
    "adjustment_id,amount_type,amount_description,amount,posted_date,sku,"
    "quantity,order_item_code"
)


@tagged("post_install", "-at_install")
class TestSettlementImportUploads(ConnectbooksCase):
    """Whatever is uploaded, the wizard answers with its own message naming
    the file (and the line and column where one applies), and writes nothing."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with file_open(GOOD, "rb") as handle:
            cls.good = handle.read()

    def _import(self, name, data):
        """Run the wizard on one file; return its error message (or None)
        after checking that a refused file wrote nothing."""
        before = self._counts()
        attachment = self.env["ir.attachment"].create({"name": name, "raw": data})
        wizard = self.env["connectbooks.settlement.import.wizard"].create(
            {"store_id": self.store_a.id, "attachment_ids": [(6, 0, attachment.ids)]}
        )
        action = wizard.action_import()
        if action["res_model"] != wizard._name:
            return None
        self.assertEqual(self._counts(), before, msg=f"{name}: nothing written")
        self.assertIn(name, wizard.error_message, msg="the message names the file")
        return wizard.error_message

    def _counts(self):
        return tuple(
            self.env[model].search_count([])
            for model in (
                "connectbooks.settlement",
                "connectbooks.settlement.line",
                "goflow.cost.line",
            )
        )

    def _good_with(self, line_no, column, value, data=None):
        lines = (data or self.good).decode().splitlines()
        header = lines[0].split("\t")
        fields = lines[line_no - 1].split("\t")
        fields[header.index(column)] = value
        lines[line_no - 1] = "\t".join(fields)
        return ("\n".join(lines) + "\n").encode()

    def test_empty_upload(self):
        """An empty upload has no content at all: once a TypeError."""
        message = self._import("empty.txt", b"")
        self.assertIn("The file is empty.", message)

    def test_first_line_one_huge_field(self):
        """Once the csv module's 'field larger than field limit'."""
        message = self._import("huge.txt", b"x" * (1 << 20) + b"\n" + self.good)
        self.assertIn("line 1: the line has 1,048,576 characters", message)

    def test_files_that_are_not_text(self):
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as handle:
            handle.writestr("settlement.txt", self.good)
        picture = io.BytesIO()
        Image.new("RGB", (2, 2)).save(picture, "PNG")
        cases = {
            "binary.bin": (bytes(range(256)) * 8, "binary"),
            "picture.png": (picture.getvalue(), "This is an image (PNG)"),
            "settlement.zip": (archive.getvalue(), "This is a ZIP archive"),
            "settlement.txt.gz": (
                gzip.compress(self.good)[:200],
                "This is a gzip archive (.gz)",
            ),
            "unicode.txt": (self.good.decode().encode("utf-16-le"), "UTF-16"),
        }
        for name, (data, words) in cases.items():
            with self.subTest(name):
                self.assertIn(words, self._import(name, data))

    def test_negative_quantity_refused_with_line_and_column(self):
        data = self._good_with(4, "quantity-purchased", "-1")
        message = self._import("negative.txt", data)
        self.assertIn(
            "line 4, column 'quantity-purchased': the quantity -1 is negative", message
        )

    def test_order_item_without_quantity_refused(self):
        data = self.good
        for line_no in range(10, 15):  # every row of one order item
            data = self._good_with(line_no, "quantity-purchased", "", data)
        message = self._import("no_quantity.txt", data)
        self.assertIn("line 10, column 'quantity-purchased'", message)
        self.assertIn("no quantity on any of its rows", message)

    def test_amazon_flat_file_v1_named(self):
        fields = V1_HEADER.split("\t")
        summary = ["24010866601", "", "", "2025-06-21T22:07:18+00:00", "0.00", "CAD"]
        data = "\n".join(
            [V1_HEADER, "\t".join(summary + [""] * (len(fields) - len(summary)))]
        ).encode()
        message = self._import("v1.txt", data)
        self.assertIn("old Flat File (V1) layout", message)
        self.assertIn("Flat File V2", message)
        self.assertNotIn("required column", message)

    def test_spreadsheet_resave_of_an_imported_settlement(self):
        """Named for what it is, not as the settlement already imported."""
        self.assertIsNone(self._import("original.txt", self.good))
        lines = self.good.decode().splitlines()
        header = lines[0].split("\t")
        item = header.index("order-item-code")
        rows = []
        for line in lines:
            fields = line.split("\t")
            if fields[item] == "62134589012345":
                fields[item] = "6.21346E+13"
            rows.append(",".join(fields))
        message = self._import("resaved.csv", ("\r".join(rows) + "\r").encode())
        self.assertIn("saved by a spreadsheet program", message)
        self.assertIn("'6.21346E+13'", message)
        self.assertNotIn("already imported", message)

    def test_one_order_item_in_two_amount_groups(self):
        rows = [
            GENERIC_HEADER,
            "GEN-GRP-1,2024-05-02,40.00,USD,,,,,,,,,,",
            "GEN-GRP-1,,,,Order,A,,ItemPrice,Principal,10.00,2024-05-01,BLU-MUG-12OZ,1,9",
            "GEN-GRP-1,,,,Order,A,,ItemFees,Commission,-1.00,2024-05-01,BLU-MUG-12OZ,1,9",
            "GEN-GRP-1,,,,Order,A,,ItemPrice,Principal,20.00,2024-05-01,BLU-MUG-12OZ,2,9",
            "GEN-GRP-1,,,,Order,A,,ItemPrice,Shipping,11.00,2024-05-01,BLU-MUG-12OZ,2,9",
        ]
        settlement = self.env["connectbooks.settlement.import"]._import_file(
            self.store_a, io.BytesIO(("\n".join(rows) + "\n").encode()), "groups.csv"
        )
        self.assertEqual(
            settlement.cost_line_ids.mapped("quantity"), [3], msg="1 + 2 units"
        )
        self.assertEqual(sum(settlement.line_ids.mapped("quantity")), 3)

    def test_fault_of_the_reader_is_a_message_and_logged(self):
        def broken(*args):
            raise KeyError("boom")

        with (
            patch.object(settlement_parser, "classify", broken),
            self.assertLogs(WIZARD_LOG, "ERROR") as logs,
        ):
            message = self._import("good.txt", self.good)
        self.assertIn("The importer failed while reading this file", message)
        self.assertIn("KeyError: 'boom'", message)
        record = logs.records[0]
        self.assertIn("good.txt", record.getMessage())
        self.assertTrue(record.exc_info, msg="logged with its traceback")

    def test_fault_outside_the_reader_is_a_message_and_logged(self):
        with (
            patch.object(
                importer.ConnectbooksSettlementImport,
                "_stream_file",
                side_effect=RuntimeError("disk on fire"),
            ),
            self.assertLogs(WIZARD_LOG, "ERROR") as logs,
        ):
            message = self._import("good.txt", self.good)
        self.assertIn("The import failed unexpectedly", message)
        self.assertIn("RuntimeError: disk on fire", message)
        self.assertTrue(logs.records[0].exc_info)
