"""One local HTTP server hosting marketplace look-alikes (standard library only).

The server knows nothing of Amazon or Walmart: it routes requests to the
*apps* mounted on it (:class:`~tools.marketplace_sandbox.amazon.AmazonApi`,
:class:`~tools.marketplace_sandbox.walmart.WalmartApi`, side by side), records
every request, and answers scripted faults before anything else (a status, a
TCP reset, a delay). An app is any object with ``routes()`` returning
``(method, compiled path pattern, callable(request, match))`` triples.
"""

from __future__ import annotations

import collections
import json
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl

from tools.sandbox_http import (
    ScriptedSandbox,
    TrackedHandler,
    head_bytes,
    reset_connection,
    scripted_answer,
)

RecordedRequest = collections.namedtuple(
    "RecordedRequest", "timestamp method path query status headers"
)


@dataclass
class Request:
    """What an app sees of a request."""

    method: str
    path: str
    raw_query: str
    headers: dict
    body: bytes
    host: str

    @property
    def query(self):
        """Query pairs, repeated keys kept, blank values kept."""
        return parse_qsl(self.raw_query, keep_blank_values=True)

    def form(self):
        """A form-encoded body as a dict (last value wins)."""
        return dict(parse_qsl(self.body.decode("latin-1"), keep_blank_values=True))

    def header(self, name):
        return self.headers.get(name.lower())


@dataclass
class Answer:
    """An app's answer: a body in memory, or a file streamed from disk."""

    status: int
    body: bytes = b""
    headers: dict = field(default_factory=dict)
    content_type: str = "application/json"
    path: str | None = None  # stream this file instead of ``body``
    length: int | None = None  # with ``path``: bytes to send (a cut-short file)
    declared_length: int | None = None  # Content-Length to claim, if not length

    @classmethod
    def json(cls, status, value, headers=None):
        body = json.dumps(value, separators=(",", ":")).encode()
        return cls(status, body, dict(headers or {}))

    def spoil(self, kind):
        """Send half the file: ``truncate`` (complete as HTTP) or ``cut``
        (the connection drops where the rest should come); other kinds,
        and ``None``, leave the answer as it is."""
        if self.path is None or kind not in ("truncate", "cut"):
            return self
        size = os.path.getsize(self.path)
        self.length = size // 2
        if kind == "cut":
            self.declared_length = size
        return self


class _Handler(TrackedHandler):
    server_version = "MarketplaceSandbox/1.0"
    log_prefix = "marketplace sandbox"

    def _any(self):
        self.server.sandbox._handle(self)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _any


class MarketplaceSandbox(ScriptedSandbox):
    """HTTP server on loopback hosting the mounted marketplace apps.

    :param host: address to listen on
    :param port: 0 picks a free port
    :param latency_ms: delay before each answer
    :param verbose: log every request to stderr
    :param clock: monotonic clock of the recorded timestamps
    """

    thread_name = "marketplace-sandbox"

    def __init__(
        self, host="127.0.0.1", port=0, *, latency_ms=0.0, verbose=False, clock=None
    ):
        self.host = host
        self.latency_ms = latency_ms
        self.verbose = verbose
        self.clock = clock or time.monotonic
        self.apps = []
        self._routes = []
        self._listen(host, port, _Handler)

    # -- life cycle --

    @property
    def url(self):
        """``http://host:port`` (no trailing slash)."""
        return self.origin

    def mount(self, app):
        """Serve ``app``'s routes; returns the app."""
        self.apps.append(app)
        self._routes.extend(app.routes())
        attach = getattr(app, "attach", None)
        if attach is not None:
            attach(self)
        return app

    def stop(self):
        """Stop serving, drop open connections, let the apps clean up (also
        when never started)."""
        super().stop()
        for app in self.apps:
            close = getattr(app, "close", None)
            if close is not None:
                close()

    # -- scripted faults --

    def _failure_body(self, status):
        return {
            "errors": [
                {
                    "code": "InternalFailure" if status >= 500 else "Scripted",
                    "message": f"Sandbox answer {status} (scripted).",
                    "details": "",
                }
            ]
        }

    def requests_to(self, prefix, method=None):
        """Recorded requests whose path starts with ``prefix``."""
        return [
            r
            for r in self.requests
            if r.path.startswith(prefix) and (method is None or r.method == method)
        ]

    # -- request handling --

    def _handle(self, handler):
        path, _sep, raw_query = handler.path.partition("?")
        headers = {name.lower(): value for name, value in handler.headers.items()}
        self._begin(
            handler,
            RecordedRequest(self.clock(), handler.command, path, raw_query, 0, headers),
        )
        try:
            length = int(handler.headers.get("Content-Length") or 0)
            body = handler.rfile.read(length) if length else b""
            self._answer(handler, path, raw_query, headers, body)
        finally:
            self._record(handler, -1)

    def _answer(self, handler, path, raw_query, headers, body):
        scripted = self._next_scripted(handler)
        if scripted is not None:
            return self._send(
                handler, Answer(*scripted_answer(scripted, "application/json"))
            )
        request = Request(
            handler.command,
            path,
            raw_query,
            headers,
            body,
            headers.get("host") or f"{self.host}:{self.port}",
        )
        allowed = []
        for method, pattern, call in self._routes:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            if method != handler.command:
                allowed.append(method)
                continue
            return self._send(handler, call(request, match))
        if allowed:
            return self._send(
                handler, Answer.json(405, {"message": "Method not allowed."})
            )
        return self._send(handler, Answer.json(404, {"message": f"No route {path}."}))

    def _send(self, handler, answer):
        if answer.path is None:
            head = head_bytes(
                handler,
                answer.status,
                len(answer.body),
                answer.headers,
                answer.content_type,
            )
            self._record(handler, answer.status)
            if handler.command == "HEAD":
                handler.wfile.write(head)
            else:
                handler.wfile.write(head + answer.body)
            return answer.status
        return self._send_file(handler, answer)

    def _send_file(self, handler, answer):
        size = os.path.getsize(answer.path)
        length = size if answer.length is None else min(answer.length, size)
        declared = answer.declared_length or length
        if declared != length:
            handler.close_connection = True
        head = head_bytes(
            handler, answer.status, declared, answer.headers, answer.content_type
        )
        self._record(handler, answer.status)
        handler.wfile.write(head)
        if handler.command == "HEAD":
            return answer.status
        with open(answer.path, "rb") as source:
            remaining = length
            while remaining > 0:
                chunk = source.read(min(1 << 20, remaining))
                if not chunk:
                    break
                handler.wfile.write(chunk)
                remaining -= len(chunk)
        if declared != length:
            handler.wfile.flush()
            reset_connection(handler)
        return answer.status


class SandboxApp:
    """What the marketplace apps share: a work directory (temporary unless
    given, removed by :meth:`close`), the server they are mounted on, and
    the access tokens they issued, each with its expiry.

    :param workdir: where the app writes its files, or ``None``
    :param prefix: the temporary directory's name prefix
    :param token_lifetime: seconds an access token is accepted
    :param expires_in: what the token answers say (default: the lifetime)
    :param clock: monotonic clock (token expiry, rate limits)
    """

    def __init__(self, workdir, prefix, token_lifetime, expires_in, clock):
        self.server = None
        self.clock = clock
        self.token_lifetime = float(token_lifetime)
        self.expires_in = expires_in
        self._tokens = {}  # access token -> monotonic expiry
        self._lock = threading.Lock()
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix=prefix)).resolve()
        self.workdir.mkdir(parents=True, exist_ok=True)

    def attach(self, server):
        self.server = server

    def close(self):
        """Remove the temporary directory this app created."""
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def issue_token(self, token):
        """Accept ``token`` for ``token_lifetime`` seconds; returns the
        ``expires_in`` to answer (whole seconds unless under one)."""
        with self._lock:
            self._tokens[token] = self.clock() + self.token_lifetime
        expires_in = self.expires_in or self.token_lifetime
        return int(expires_in) if expires_in >= 1 else expires_in

    def token_state(self, token):
        """``valid``, ``expired`` or ``unknown`` (also when missing)."""
        with self._lock:
            until = self._tokens.get(token) if token else None
        if until is None:
            return "unknown"
        return "valid" if self.clock() < until else "expired"

    def expire_tokens(self):
        """Every access token issued so far is expired from now on."""
        with self._lock:
            for token in self._tokens:
                self._tokens[token] = float("-inf")
