"""A sandbox seen from outside, with the standard library only: one HTTP
request through :mod:`urllib`, and a sandbox's command line run as a process.

What the tests of the Goflow sandbox and of the marketplace sandbox both do
to check a sandbox without the add-on's clients.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent


def call(url, *, method="GET", form=None, headers=None, timeout=5):
    """One request; an HTTP error status is an answer like any other.

    :param form: a mapping sent as a form-encoded body, if any
    :return: ``(status, headers, parsed JSON or raw bytes)``
    """
    data = urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers=dict(headers or {})
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, head, body = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, head, body = error.code, error.headers, error.read()
    try:
        return status, head, json.loads(body)
    except ValueError:
        return status, head, body


def read_line(stream, timeout):
    """The next line of a process's output, ``None`` when none comes within
    ``timeout`` seconds."""
    result = []
    reader = threading.Thread(target=lambda: result.append(stream.readline()))
    reader.daemon = True
    reader.start()
    reader.join(timeout)
    return result[0] if result else None


@contextlib.contextmanager
def sandbox_process(module, *args, stderr=subprocess.PIPE):
    """Run ``python -m <module> <args>`` from the repository, its output a
    text pipe; killed if still running, and its pipes closed, on leaving.

    :param stderr: where its error output goes (a pipe unless given)
    :return: the :class:`subprocess.Popen`
    """
    process = subprocess.Popen(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        if process.stderr is not None:
            process.stderr.close()
