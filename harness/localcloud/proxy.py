"""Every AWS call the gateway does not serve itself goes to moto, unchanged and streamed.

The request line, every header (``Host`` included: moto builds URLs and picks S3 virtual hosts
from it) and the body are passed on; only hop-by-hop headers are dropped. Bodies are copied in
64 KiB chunks both ways, so large S3 objects never sit in memory. A chunked request is re-sent
chunked; a response without a length is sent on chunked.
"""

from __future__ import annotations

import http.client
import logging
import socket
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

log = logging.getLogger(__name__)

CHUNK = 64 * 1024
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "upgrade",
    "expect",
    "transfer-encoding",
    "proxy-authenticate",
    "proxy-authorization",
}


def request_chunks(handler: BaseHTTPRequestHandler) -> Iterator[bytes]:
    """The request body as it arrives: by Content-Length, or decoded from chunked encoding."""
    if "chunked" in (handler.headers.get("Transfer-Encoding") or "").lower():
        while True:
            size_line = handler.rfile.readline()
            size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return
            remaining = size
            while remaining:
                data = handler.rfile.read(min(CHUNK, remaining))
                if not data:
                    return
                remaining -= len(data)
                yield data
            handler.rfile.readline()  # CRLF after each chunk
    remaining = int(handler.headers.get("Content-Length") or 0)
    while remaining > 0:
        data = handler.rfile.read(min(CHUNK, remaining))
        if not data:
            return
        remaining -= len(data)
        yield data


def forward(handler: BaseHTTPRequestHandler, host: str, port: int, timeout: float = 300.0) -> int:
    """Send the handler's request to ``host:port`` and stream the answer back; return the status."""
    chunked_in = "chunked" in (handler.headers.get("Transfer-Encoding") or "").lower()
    upstream = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        try:
            # Headers and body are separate sends: without TCP_NODELAY, Nagle and moto's delayed
            # ACK would hold the body back ~40 ms on every proxied call.
            upstream.connect()
            upstream.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            upstream.putrequest(handler.command, handler.path, skip_host=True, skip_accept_encoding=True)
            for name, value in handler.headers.items():
                if name.lower() not in HOP_BY_HOP:
                    upstream.putheader(name, value)
            if chunked_in:
                upstream.putheader("Transfer-Encoding", "chunked")
            upstream.endheaders()
            for data in request_chunks(handler):
                upstream.send(f"{len(data):x}\r\n".encode() + data + b"\r\n" if chunked_in else data)
            if chunked_in:
                upstream.send(b"0\r\n\r\n")
            response = upstream.getresponse()
        except OSError as exc:
            log.error("moto at %s:%d is not reachable: %s", host, port, exc)
            body = f'{{"message": "moto is not reachable at {host}:{port}: {exc}"}}'.encode()
            handler.send_response(502)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
            return 502
        _stream_back(handler, response)
        return response.status
    finally:
        upstream.close()


def _stream_back(handler: BaseHTTPRequestHandler, response: http.client.HTTPResponse) -> None:
    handler.send_response_only(response.status, response.reason)
    length = response.getheader("Content-Length")
    no_body = handler.command == "HEAD" or response.status in (204, 304) or 100 <= response.status < 200
    for name, value in response.getheaders():
        if name.lower() not in HOP_BY_HOP:
            handler.send_header(name, value)
    chunked_out = length is None and not no_body and handler.request_version != "HTTP/1.0"
    if length is None and not no_body and not chunked_out:
        handler.close_connection = True  # an HTTP/1.0 client reads to the end of the connection
    if chunked_out:
        handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    if no_body:
        return
    while True:
        data = response.read(CHUNK)
        if not data:
            break
        handler.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n" if chunked_out else data)
    if chunked_out:
        handler.wfile.write(b"0\r\n\r\n")
