"""HTTP plumbing shared by the local sandboxes (standard library only).

A threading server that does no reverse DNS lookup and stays quiet about
clients that go away, a token bucket, a raw answer writer and a TCP reset:
what the Goflow sandbox and the marketplace sandbox both need.
"""

from __future__ import annotations

import socket
import socketserver
import struct
import sys
import threading
from http import HTTPStatus
from http.server import ThreadingHTTPServer


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
