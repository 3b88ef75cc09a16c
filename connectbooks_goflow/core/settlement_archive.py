"""Open the zip archive a marketplace delivers a settlement in.

Walmart's Payments API and Seller Center deliver the reconciliation report as
a zip holding exactly one CSV file. The member is decompressed as it is
read, never as a whole; an archive that is not such a zip is refused with a
message that names what it holds.
"""

import shutil
import tempfile
import zipfile
import zlib
from contextlib import suppress

__all__ = ["ArchiveError", "is_zip", "open_single_csv"]

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
# Member names of an Excel workbook (.xlsx is a zip too).
WORKBOOK_MEMBERS = ("[Content_Types].xml", "xl/workbook.xml")
CSV_SUFFIX = ".csv"
# An archive that cannot be read from its current position is copied first;
# up to this size in memory, beyond it in a temporary file.
SPOOL_BYTES = 32 * 1024 * 1024
_EXTRACT = "Extract the settlement CSV file from it and import that file."


class ArchiveError(ValueError):
    """The archive is not one settlement CSV file, or is damaged."""


def is_zip(head):
    return head.startswith(ZIP_MAGIC)


def open_single_csv(fileobj, head):
    """Open the one CSV file of a zip archive for reading.

    :param fileobj: binary file object; ``head`` was read from it already
    :param head: the first bytes of the archive
    :return: ``(member name, binary stream of the member)``
    :raise ArchiveError: an empty archive, several files, a member that is not
        a CSV file, an encrypted or damaged archive (the message says which)
    """
    archive_file = _rewound(fileobj, head)
    try:
        archive = zipfile.ZipFile(archive_file)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
        raise ArchiveError(
            "This is a ZIP archive or an Excel workbook (.xlsx) that cannot be "
            f"opened ({exc}): it is damaged or cut short. Download it again."
        ) from None
    names = [info.filename for info in archive.infolist() if not info.is_dir()]
    if any(name in WORKBOOK_MEMBERS for name in names):
        raise ArchiveError(
            "This is an Excel workbook (.xlsx), not a settlement text file. "
            "Import the settlement report as downloaded: a tab-delimited flat "
            "file (.txt), a CSV file, or the zip holding it."
        )
    if not names:
        raise ArchiveError(f"The ZIP archive is empty: it holds no file. {_EXTRACT}")
    if len(names) > 1:
        shown = ", ".join(f"'{name}'" for name in names[:5])
        more = f" and {len(names) - 5} more" if len(names) > 5 else ""
        raise ArchiveError(
            f"The ZIP archive holds {len(names)} files ({shown}{more}); a "
            f"settlement archive holds exactly one CSV file. {_EXTRACT}"
        )
    name = names[0]
    if not name.lower().endswith(CSV_SUFFIX):
        raise ArchiveError(
            f"This is a ZIP archive holding '{name}', which is not a CSV file; "
            "a settlement archive holds one CSV file. If it is a settlement "
            "file, extract it and import it."
        )
    info = archive.getinfo(name)
    if info.flag_bits & 0x1:
        raise ArchiveError(f"'{name}' in the ZIP archive is encrypted. {_EXTRACT}")
    try:
        member = archive.open(info)
    except (zipfile.BadZipFile, NotImplementedError, OSError, EOFError) as exc:
        raise ArchiveError(
            f"'{name}' in the ZIP archive cannot be read ({exc}): the archive is "
            "damaged or cut short. Download it again."
        ) from None
    return name, _Member(name, member)


class _Member:
    """A zip member read block by block; a damaged archive ends in
    :class:`ArchiveError`, not in the zip module's own exceptions."""

    def __init__(self, name, stream):
        self.name = name
        self._stream = stream

    def read(self, size=-1):  # pylint: disable=method-required-super
        try:
            return self._stream.read(size)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise ArchiveError(
                f"'{self.name}' in the ZIP archive cannot be read to its end "
                f"({exc}): the archive is damaged or cut short. Download it again."
            ) from None


def _rewound(fileobj, head):
    """A seekable file holding the whole archive, at its start."""
    try:
        seekable = fileobj.seekable()
    except (AttributeError, OSError, ValueError):
        seekable = False
    if seekable:
        with suppress(OSError, ValueError):  # not seekable after all: copied
            fileobj.seek(fileobj.tell() - len(head))
            return fileobj
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    spool.write(head)
    shutil.copyfileobj(fileobj, spool, 1 << 20)
    spool.seek(0)
    return spool
