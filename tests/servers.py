"""Servers the test sessions start on 127.0.0.1: a free port, and moto in the test's own process.

Every session fixture that needs a port or an in-process moto takes it from here, so a server is
always bound to loopback and always stopped.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from contextlib import contextmanager

from harness.local_settings import HOST, http_url


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@contextmanager
def threaded_moto() -> Iterator[str]:
    """A real moto server in this process on a free port; yields its URL and stops it on exit."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access-log line per request
    port = free_port()
    server = ThreadedMotoServer(ip_address=HOST, port=port, verbose=False)
    server.start()
    try:
        yield http_url(port)
    finally:
        server.stop()
