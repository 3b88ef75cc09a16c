"""HTTP plumbing shared by the local sandboxes (standard library only).

A threading server that does no reverse DNS lookup and stays quiet about
clients that go away, a request handler that tracks its connections, the
life cycle of a sandbox served from a thread, a token bucket, a raw answer
writer and a TCP reset: what the Goflow sandbox and the marketplace sandbox
both need.
"""

from __future__ import annotations

import socket
import socketserver
import struct
import sys
import threading
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


def make_server(host, port, handler):
    """A :class:`QuietHTTPServer` (IPv6 when ``host`` has a colon)."""
    server_class = QuietHTTPServer6 if ":" in host else QuietHTTPServer
    return server_class((host, port), handler)


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
