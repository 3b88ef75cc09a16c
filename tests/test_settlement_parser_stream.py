"""The parser streams: memory and read-ahead do not grow with the file."""

import io
import tracemalloc

import pytest

from connectbooks_goflow.core import settlement_const as const
from connectbooks_goflow.core.settlement_parser import SettlementReader
from tools.settlement_generator import write_settlement


class CountingReader(io.RawIOBase):
    """A non-seekable binary stream that counts the bytes handed out."""

    def __init__(self, data):
        self._data = memoryview(data)
        self.position = 0

    def readable(self):
        return True

    def readinto(self, buffer):
        size = min(len(buffer), len(self._data) - self.position)
        buffer[:size] = self._data[self.position : self.position + size]
        self.position += size
        return size


def test_reads_ahead_at_most_one_block():
    out = io.BytesIO()
    stats = write_settlement(out, orders=12_000, seed=21)
    data = out.getvalue()
    assert len(data) > 10 * const.READ_BLOCK_BYTES
    line_ends = []
    position = data.find(b"\n")
    while position >= 0:
        line_ends.append(position + 1)
        position = data.find(b"\n", position + 1)
    stream = CountingReader(data)
    reader = SettlementReader(stream)
    assert stream.position <= const.SNIFF_BYTES + const.READ_BLOCK_BYTES
    slack = const.SNIFF_BYTES + const.READ_BLOCK_BYTES
    count = 0
    for row in reader:
        count += 1
        if count % 997 == 0:
            consumed = line_ends[row.line_no - 1]
            assert stream.position - consumed <= slack, f"read ahead at {row.line_no}"
    assert count == stats.rows


@pytest.mark.slow
def test_memory_stays_bounded_on_200k_rows(tmp_path):
    path = tmp_path / "big.txt"
    stats = write_settlement(path, orders=31_000, seed=22)
    assert stats.rows >= 200_000
    size = path.stat().st_size
    tracemalloc.start()
    try:
        with open(path, "rb") as handle:
            reader = SettlementReader(handle)
            rows = 0
            units = 0
            for row in reader:
                rows += 1
                units += row.quantity
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rows == stats.rows
    assert reader.total == stats.total
    # A block of text, its lines and the per-item keys of the quantity rule
    # (~40,000 items here); the file itself is ~35 MB, the rows ~150 MB.
    assert peak < 24 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB for {size / 1e6:.0f} MB"
