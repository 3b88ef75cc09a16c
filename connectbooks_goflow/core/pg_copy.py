"""Writing rows to PostgreSQL with ``COPY``: the text format and a pipeline.

Plain Python over a DB-API cursor (``copy_expert``); the models that own the
tables build the rows and the statements.
"""

import gc
import queue
import threading
from contextlib import contextmanager

# Batches waiting in a pipeline's queue; with the batch size it bounds the
# memory of a large import.
COPY_QUEUE_DEPTH = 4


_TEXT_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_text(values, items):
    """``values(item)`` (a tuple of str, "" for NULL) of each of ``items`` in
    COPY's text format with ``NULL ''``.

    Joining the tuples is several times faster than a csv writer (the tuples
    are not kept: a list of them doubled the time); when a field holds a tab,
    a line break or a backslash (counted on the whole text at once), every
    field is escaped.
    """
    if not items:
        return ""
    join = "\t".join
    text = "\n".join(map(join, map(values, items)))
    if (
        text.count("\t") != (len(values(items[0])) - 1) * len(items)
        or text.count("\n") != len(items) - 1
        or "\\" in text
        or "\r" in text
    ):
        text = "\n".join(
            join([value.translate(_TEXT_ESCAPES) for value in values(item)])
            for item in items
        )
    return text + "\n"


class CopyPipeline:
    """Run ``COPY`` statements in order in a second thread.

    psycopg2 releases the GIL while PostgreSQL takes the data, so PostgreSQL
    stores one batch on one core while Python parses the next on the other.
    The bounded queue bounds the memory. The main thread does not touch the
    cursor until :meth:`close` has joined the thread.
    """

    def __init__(self, cr):
        self._cr = cr
        self._queue = queue.Queue(maxsize=COPY_QUEUE_DEPTH)
        self._error = None
        self._closed = False
        self._thread = threading.Thread(
            target=self._run, name="settlement-copy", daemon=True
        )
        self._thread.start()

    def put(self, statement, text):
        """Queue one ``COPY ... FROM STDIN`` with its text.

        :raise: the error of an earlier COPY, if one failed
        """
        if self._error is not None:
            raise self._error
        self._put((statement, text))

    def close(self):
        """Wait for the queued COPYs.

        :raise: the first COPY error, if one failed
        """
        if self._closed:
            return
        self._closed = True
        self._put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error

    def _run(self):
        while True:
            job = self._queue.get()
            if job is None:
                return
            if self._error is not None:
                continue  # drained until close(), so a producer never blocks
            statement, text = job
            try:
                # One read() returns it all: the GIL is taken once a batch.
                self._cr.copy_expert(statement, _Text(text))
            except Exception as error:  # re-raised by put() and close()
                self._error = error

    def _put(self, item):
        while self._thread.is_alive():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue


class _Text:
    """A file-like ``read()`` giving its whole text at once."""

    def __init__(self, text):
        self._text = text

    def read(self, size=-1):  # pylint: disable=method-required-super
        text, self._text = self._text, ""
        return text


@contextmanager
def gc_paused():
    """Pause Python's cyclic garbage collector while a file streams through.

    A million parsed rows set off full collections that walk every object of
    the process, Odoo's registry included: measured, they doubled the time of
    a 1,000,000-row import. Reference counting still frees each row; cycles
    wait until the import ends.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
