"""HTTP plumbing shared by the local sandboxes (standard library only).

A threading server that does no reverse DNS lookup and stays quiet about
clients that go away, a request handler that tracks its connections, the
life cycle of a sandbox served from a thread or until a signal, the record
of every request and the scripted faults answered before anything else, a
token bucket, a raw answer writer and a TCP reset: what the Goflow sandbox
and the marketplace sandbox both need.
"""

from __future__ import annotations

import collections
import json
import signal
import socket
import socketserver
import struct
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Abort(Exception):
    """The connection was dropped on purpose; nothing to answer."""


class QuietHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def server_bind(self):
        # HTTPServer.server_bind does a reverse DNS lookup: skip it.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request, client_address):
        error = sys.exc_info()[1]
        if isinstance(error, OSError | ValueError | Abort):
            return  # client gone, timed out or reset on purpose
        super().handle_error(request, client_address)


class QuietHTTPServer6(QuietHTTPServer):
    address_family = socket.AF_INET6


class TrackedHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive handler whose connections the sandbox can drop.

    ``self.server.sandbox`` is the sandbox: it has ``_connections`` (a set)
    and ``verbose``.
    """

    protocol_version = "HTTP/1.1"
    timeout = 120  # an idle keep-alive connection is closed after this
    log_prefix = "sandbox"

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.sandbox._connections.add(self.connection)

    def finish(self):
        self.server.sandbox._connections.discard(self.connection)
        try:
            super().finish()
        except (OSError, ValueError):
            pass

    def log_message(self, format, *args):
        if self.server.sandbox.verbose:
            sys.stderr.write(f"{self.log_prefix}: {format % args}\n")


class ServedSandbox:
    """Life cycle of a sandbox holding ``_httpd`` (see :func:`make_server`)
    and ``_connections``: serve from a thread or the caller's, stop, and be a
    context manager."""

    thread_name = "sandbox"
    _thread = None
    _serving = False

    def start(self):
        """Serve in a background thread; returns self."""
        self._serving = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=self.thread_name,
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self):
        """Serve in the calling thread until :meth:`stop`."""
        self._serving = True
        self._httpd.serve_forever(poll_interval=0.05)

    def stop(self):
        """Stop serving and drop open connections (also when never started)."""
        if self._serving:
            self._httpd.shutdown()  # waits for serve_forever: only if it runs
            self._serving = False
        self._httpd.server_close()
        for connection in list(self._connections):
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    def serve_until_signal(self, started, stopped):
        """Serve until SIGTERM or SIGINT, then stop: a command line's life.

        :param started: printed once serving (what a caller waits for)
        :param stopped: printed to standard error once stopped
        """
        stopping = threading.Event()

        def _stop(_signum, _frame):
            stopping.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        self.start()
        print(started, flush=True)
        while not stopping.wait(0.5):
            pass
        self.stop()
        print(stopped, file=sys.stderr, flush=True)


def make_server(host, port, handler):
    """A :class:`QuietHTTPServer` (IPv6 when ``host`` has a colon)."""
    server_class = QuietHTTPServer6 if ":" in host else QuietHTTPServer
    return server_class((host, port), handler)


class ScriptedSandbox(ServedSandbox):
    """A served sandbox that records every request (``self.requests``, named
    tuples with a ``status`` field) and answers scripted faults before
    anything else.

    A subclass sets ``host`` and ``latency_ms`` and calls :meth:`_listen`.
    """

    host = "127.0.0.1"
    port = 0
    latency_ms = 0.0

    def _listen(self, host, port, handler):
        """Bind the server (port 0: a free one) and start with no request
        recorded and nothing scripted."""
        # The status of a recorded request is 0 while its answer is being
        # prepared, -1 when none was sent.
        self.requests = []
        self._requests_lock = threading.Lock()
        self._script = collections.deque()
        self._script_lock = threading.Lock()
        self._connections = set()
        self._httpd = make_server(host, port, handler)
        self._httpd.sandbox = self
        self.port = self._httpd.server_address[1]

    @property
    def origin(self):
        """``http://host:port``, the host in brackets when IPv6."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    # -- scripted faults --

    def script_responses(self, responses):
        """Answer the next requests with these, in turn, before anything else.

        Each item: an HTTP status (with a JSON ``message`` body); a dict
        with ``status``, ``body`` (bytes, text or JSON-able) and
        ``headers``; ``"reset"`` to drop the connection with a TCP reset;
        or ``{"delay_ms": n}`` to answer normally after n milliseconds.
        """
        with self._script_lock:
            self._script.extend(responses)

    def fail_next(self, count, status=500, retry_after=None, body=None):
        """Answer the next ``count`` requests with ``status``.

        :param retry_after: the ``Retry-After`` header to send, if any
        :param body: the answer's body, else :meth:`_failure_body`
        """
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        body = body or self._failure_body(status)
        self.script_responses(
            [{"status": status, "body": body, "headers": headers}] * count
        )

    def _failure_body(self, status):
        return {"message": f"Sandbox answer {status} (scripted)."}

    def reset_next(self, count=1):
        """Drop the connection of the next ``count`` requests (TCP reset)."""
        self.script_responses(["reset"] * count)

    def clear_script(self):
        with self._script_lock:
            self._script.clear()

    # -- request handling --

    def _begin(self, handler, record):
        """Record a request as it arrives; its status comes with the answer."""
        with self._requests_lock:
            handler.sandbox_record = len(self.requests)
            self.requests.append(record)

    def _record(self, handler, status):
        """Set the status of the request, before its answer leaves."""
        index = handler.sandbox_record
        if index is not None:
            handler.sandbox_record = None
            with self._requests_lock:
                self.requests[index] = self.requests[index]._replace(status=status)

    def _next_scripted(self, handler):
        """The scripted answer of this request, or ``None`` to answer it
        normally, after the sandbox's latency and a scripted delay; a
        scripted reset drops the connection here."""
        scripted = None
        with self._script_lock:
            if self._script:
                scripted = self._script.popleft()
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000.0)
        if isinstance(scripted, dict) and "status" not in scripted:
            # {"delay_ms": n}: a slow answer, then the normal one.
            time.sleep(scripted.get("delay_ms", 0) / 1000.0)
            scripted = None
        if scripted == "reset":
            self._record(handler, -1)
            reset_connection(handler)
        return scripted


def scripted_answer(item, content_type=None):
    """A scripted item (see :meth:`ScriptedSandbox.script_responses`) as the
    parts of an answer.

    :param content_type: the type unless the item's headers say one
    :return: ``(status, body bytes, headers, content type)``
    """
    if isinstance(item, int):
        item = {"status": item}
    status = int(item.get("status", 200))
    body = item.get("body")
    if body is None:
        body = {"message": f"Sandbox answer {status} (scripted)."}
    if isinstance(body, str):
        body = body.encode()
    elif not isinstance(body, bytes):
        body = json.dumps(body, separators=(",", ":")).encode()
    headers = dict(item.get("headers") or {})
    return status, body, headers, headers.pop("Content-Type", content_type)


class TokenBucket:
    """``burst`` requests at once, then ``rate`` per second (thread-safe)."""

    def __init__(self, rate, burst, clock):
        self.rate = float(rate)
        self.capacity = float(burst)
        self.tokens = self.capacity
        self.clock = clock
        self.updated = clock()
        self.lock = threading.Lock()

    def take(self):
        """``0.0`` when a token was taken, else the seconds until one is free."""
        with self.lock:
            now = self.clock()
            elapsed = now - self.updated
            self.updated = now
            self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)
            if self.tokens >= 1.0:
                self.tokens -= 1.0
                return 0.0
            return (1.0 - self.tokens) / self.rate


def reset_connection(handler):
    """Drop the handler's connection with a TCP reset; raises :class:`Abort`."""
    connection = handler.connection
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.close_connection = True
    for stream in (handler.rfile, handler.wfile):
        try:
            stream.close()
        except (OSError, ValueError):
            pass
    connection.close()
    raise Abort()


def head_bytes(handler, status, length, headers=None, content_type=None):
    """The status line and headers of an answer, as bytes."""
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Status"
    lines = [
        f"HTTP/1.1 {status} {reason}",
        f"Content-Type: {content_type or 'application/json; charset=utf-8'}",
        f"Content-Length: {length}",
    ]
    lines.extend(f"{name}: {value}" for name, value in (headers or {}).items())
    if handler.close_connection:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
