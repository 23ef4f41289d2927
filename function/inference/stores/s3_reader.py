"""S3 GetObject for a cold start, without botocore: http.client, SigV4 and the environment.

Why: the S3 store reads the manifest and model files (GetObject, whole or by byte range) and
nothing else. Importing botocore (urllib3, email, dateutil, its docs machinery) and creating an S3
client (S3's service model and endpoint rules) took ~370 ms of CPU in the function's image on this
project's 2-core machine (import 190-250 ms, ``create_client`` 125-140 ms); at init it ran on the
cold start's critical path, and the s3 variant's manifest read took 420-520 ms of a 1.54 s cold
start. This reader imports http.client, hmac and hashlib: 16-24 ms in the same image after the
handler's other imports; the s3 int8 manifest read, that import included, now takes 35-60 ms.

What it does, and what it leaves to botocore (``s3_client`` falls back to botocore when the
environment is not one this reader serves):

- Credentials from ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY`` and ``AWS_SESSION_TOKEN``:
  where Lambda puts the execution role's credentials for the environment's lifetime (botocore's
  environment provider reads the same, once). No variables, no reader.
- The endpoint: ``AWS_ENDPOINT_URL_S3`` or ``AWS_ENDPOINT_URL`` (path-style addressing, as local
  endpoints such as the project's local cloud need), else the region's virtual-hosted endpoint
  ``https://<bucket>.s3.<region>.amazonaws.com`` (path-style for bucket names with dots, whose
  certificate would not match). FIPS and dual-stack endpoints are botocore's.
- Requests are signed with Signature Version 4 exactly as botocore's ``S3SigV4Auth`` signs the
  same GET (a unit test compares the two); the payload hash is the empty body's.
- Retries: connection errors and 429/500/502/503/504 answers are retried with jittered
  exponential backoff, 3 attempts in all (botocore's "standard" mode budget); a body that breaks
  mid-read is the caller's to handle (the store then answers 503 and backs off).
- Errors raise ``S3RequestError``, whose ``response`` has botocore's ``ClientError`` shape
  (``response["Error"]["Code"]``), so callers handle both clients alike.
- Connections are kept alive and reused, one per concurrent request (the store's ranged
  download runs ``TransferSettings.concurrency`` at once).
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import os
import random
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

SERVICE = "s3"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_ATTEMPTS = 3
#: Endpoint choices this reader leaves to botocore.
BOTOCORE_ENDPOINT_SWITCHES = ("AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT")
BACKOFF_BASE_SECONDS = 0.1
_ERROR_CODE = re.compile(rb"<Code>([^<]+)</Code>")
_ERROR_MESSAGE = re.compile(rb"<Message>([^<]*)</Message>")
_DNS_BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")


class S3RequestError(Exception):
    """An S3 error answer, or a request that failed on every attempt; botocore's ClientError shape."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.status = status
        self.response = {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status},
        }


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str
    token: str | None = None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Credentials | None:
        access_key, secret_key = environ.get("AWS_ACCESS_KEY_ID"), environ.get("AWS_SECRET_ACCESS_KEY")
        if not access_key or not secret_key:
            return None
        return cls(access_key, secret_key, environ.get("AWS_SESSION_TOKEN") or None)


@dataclass(frozen=True)
class Target:
    """Where one object's GET goes: scheme, host (with port) and the percent-encoded path."""

    scheme: str
    host: str
    path: str


def _sign(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def sigv4_headers(
    credentials: Credentials,
    region: str,
    host: str,
    path: str,
    extra: Mapping[str, str],
    now: datetime,
) -> dict[str, str]:
    """The headers of a signed GET of ``path`` on ``host``: ``extra`` (e.g. Range) plus the date,
    payload hash, session token and Authorization, every header signed, as botocore does."""
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    headers = {name.lower(): " ".join(str(value).split()) for name, value in extra.items()}
    headers.update({"host": host, "x-amz-content-sha256": EMPTY_SHA256, "x-amz-date": stamp})
    if credentials.token:
        headers["x-amz-security-token"] = credentials.token
    names = sorted(headers)
    signed = ";".join(names)
    canonical = "\n".join(
        ["GET", path, "", *(f"{name}:{headers[name]}" for name in names), "", signed, EMPTY_SHA256]
    )
    scope = f"{stamp[:8]}/{region}/{SERVICE}/aws4_request"
    string_to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = _sign(f"AWS4{credentials.secret_key}".encode(), stamp[:8])
    for part in (region, SERVICE, "aws4_request"):
        key = _sign(key, part)
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={credentials.access_key}/{scope}, "
        f"SignedHeaders={signed}, Signature={signature}"
    )
    return headers


class Body:
    """A response body: ``read(n)``, a context manager; its connection goes back to the pool
    when it was read to the end, and is closed otherwise."""

    def __init__(self, response: http.client.HTTPResponse, release: Any, discard: Any) -> None:
        self._response, self._release, self._discard = response, release, discard
        self._done = False

    def read(self, amount: int | None = None) -> bytes:
        data = self._response.read(amount)
        if amount is None or not data:
            self._finish()
        return data

    def _finish(self) -> None:
        if self._done:
            return
        self._done = True
        if self._response.isclosed() and not self._response.will_close:
            self._release()
        else:
            self._discard()

    def close(self) -> None:
        if not self._done:
            self._done = True
            self._discard()

    def __enter__(self) -> Body:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._response.isclosed():
            self._finish()
        else:
            self.close()  # not read to the end: the connection cannot be reused


class S3Reader:
    """``get_object(Bucket=..., Key=..., Range=...)`` -> ``{"Body": ..., "ContentLength": n}``,
    the part of botocore's S3 client the store uses."""

    def __init__(
        self,
        credentials: Credentials,
        region: str,
        endpoint_url: str | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
    ) -> None:
        self.credentials, self.region = credentials, region
        self.endpoint = urlsplit(endpoint_url.rstrip("/")) if endpoint_url else None
        self.connect_timeout, self.read_timeout = connect_timeout, read_timeout
        self._idle: dict[tuple[str, str], list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> S3Reader | None:
        """The reader the environment configures, or None where botocore should do the job."""
        environ = os.environ if environ is None else environ
        credentials = Credentials.from_environment(environ)
        region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")
        if credentials is None or not region:
            return None
        if any(environ.get(name, "").lower() == "true" for name in BOTOCORE_ENDPOINT_SWITCHES):
            return None
        endpoint = environ.get("AWS_ENDPOINT_URL_S3") or environ.get("AWS_ENDPOINT_URL") or None
        return cls(credentials, region, endpoint)

    def target(self, bucket: str, key: str) -> Target:
        quoted = quote(key, safe="/~")
        if self.endpoint is not None:
            base = self.endpoint.path.rstrip("/")
            return Target(self.endpoint.scheme, self.endpoint.netloc, f"{base}/{bucket}/{quoted}")
        suffix = "amazonaws.com.cn" if self.region.startswith("cn-") else "amazonaws.com"
        if _DNS_BUCKET.match(bucket):
            return Target("https", f"{bucket}.s3.{self.region}.{suffix}", f"/{quoted}")
        return Target("https", f"s3.{self.region}.{suffix}", f"/{bucket}/{quoted}")

    def get_object(self, Bucket: str, Key: str, Range: str | None = None) -> dict[str, Any]:  # noqa: N803  # botocore's names
        target = self.target(Bucket, Key)
        extra = {"Range": Range} if Range else {}
        for attempt in range(1, MAX_ATTEMPTS + 1):
            last = attempt == MAX_ATTEMPTS
            connection: http.client.HTTPConnection | None = None
            try:
                connection = self._connection(target)
                headers = sigv4_headers(
                    self.credentials, self.region, target.host, target.path, extra, datetime.now(UTC)
                )
                connection.request("GET", target.path, headers=headers)
                response = connection.getresponse()
            except (OSError, http.client.HTTPException) as exc:
                if connection is not None:
                    connection.close()
                if last:
                    raise S3RequestError("RequestFailed", f"GET s3://{Bucket}/{Key}: {exc!r}") from exc
                self._back_off(attempt)
                continue
            if response.status in (200, 206):
                return {
                    "Body": Body(response, lambda c=connection: self._put_back(target, c), connection.close),
                    "ContentLength": int(response.getheader("Content-Length") or 0),
                }
            payload = response.read()
            if response.will_close:
                connection.close()
            else:
                self._put_back(target, connection)
            if response.status in RETRY_STATUSES and not last:
                self._back_off(attempt)
                continue
            code = _ERROR_CODE.search(payload)
            message = _ERROR_MESSAGE.search(payload)
            raise S3RequestError(
                code[1].decode() if code else str(response.status),
                message[1].decode() if message else response.reason,
                response.status,
            )
        raise AssertionError("unreachable")  # the last attempt returns or raises

    @staticmethod
    def _back_off(attempt: int) -> None:
        time.sleep(random.uniform(0, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1)))

    def _connection(self, target: Target) -> http.client.HTTPConnection:
        with self._lock:
            idle = self._idle.get((target.scheme, target.host))
            if idle:
                return idle.pop()
        kind = http.client.HTTPSConnection if target.scheme == "https" else http.client.HTTPConnection
        connection = kind(target.host, timeout=self.connect_timeout)
        connection.connect()
        assert connection.sock is not None
        connection.sock.settimeout(self.read_timeout)
        return connection

    def _put_back(self, target: Target, connection: http.client.HTTPConnection) -> None:
        with self._lock:
            self._idle.setdefault((target.scheme, target.host), []).append(connection)
