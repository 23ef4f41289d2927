"""SigV4 verification for AWS_IAM routes: botocore's own signer, run again over the received request.

The client's ``Authorization: AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/execute-api/
aws4_request, SignedHeaders=..., Signature=...`` names the headers it signed; the canonical request
is rebuilt from exactly those headers as received, the raw path and query, and the sha256 of the
body as received (a tampered body fails), and signed with the local cloud's one secret key. A
different signature is AWS's ``SignatureDoesNotMatch``. A request time more than 5 minutes away
from now is refused, as AWS refuses it.

Not reproduced: IAM policy evaluation of ``execute-api:Invoke`` (the local credentials are the
account's own, which AWS would allow), session tokens, presigned (query-string) signatures.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

from harness.localcloud.httpmsg import HttpRequest

SERVICE = "execute-api"
ALGORITHM = "AWS4-HMAC-SHA256"
MAX_CLOCK_SKEW = timedelta(minutes=5)
TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"

SIGNATURE_DOES_NOT_MATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)
INVALID_TOKEN = "The security token included in the request is invalid."

_AUTHORIZATION = re.compile(
    rf"^{ALGORITHM}\s+Credential=(?P<credential>[^,\s]+),\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+),\s*Signature=(?P<signature>[0-9a-f]{64})\s*$"
)


@dataclass(frozen=True)
class Caller:
    """Who signed: what AWS puts into ``requestContext.authorizer.iam``."""

    access_key: str
    account_id: str

    def event_context(self) -> dict[str, object]:
        return {
            "accessKey": self.access_key,
            "accountId": self.account_id,
            "callerId": self.account_id,
            "cognitoIdentity": None,
            "principalOrgId": None,
            "userArn": f"arn:aws:iam::{self.account_id}:root",
            "userId": self.account_id,
        }


class SignatureError(Exception):
    """The request is not signed, or not validly: ``str(exc)`` is AWS's message (None: Forbidden)."""

    def __init__(self, message: str | None, reason: str) -> None:
        super().__init__(reason)
        self.message = message


class _ReceivedHeadersSigner(SigV4Auth):
    """botocore's signer, signing exactly the headers the client says it signed."""

    def __init__(self, credentials: Credentials, region: str, signed: list[str]) -> None:
        super().__init__(credentials, SERVICE, region)
        self._signed = signed

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        selected = HTTPHeaders()
        for name in self._signed:
            value = request.headers.get(name)
            if value is not None:
                selected[name] = value
        return selected


def verify(request: HttpRequest, access_key: str, secret_key: str, region: str, account_id: str) -> Caller:
    """The caller if ``request`` carries a valid SigV4 signature by ``access_key``, else SignatureError."""
    header = request.header("Authorization")
    if not header:
        raise SignatureError(None, "no Authorization header")
    match = _AUTHORIZATION.match(header.strip())
    if match is None:
        raise SignatureError(None, "the Authorization header is not a SigV4 signature")
    key, date, scope_region, service, terminator = (match["credential"].split("/") + [""] * 5)[:5]
    if key != access_key:
        raise SignatureError(INVALID_TOKEN, f"unknown access key {key[:40]!r}")
    if terminator != "aws4_request" or service != SERVICE:
        raise SignatureError(f"Credential should be scoped to correct service: '{SERVICE}'.", "wrong service")
    if scope_region != region:
        raise SignatureError(
            "Credential should be scoped to a valid region.", f"region {scope_region[:20]!r}"
        )
    timestamp = request.header("X-Amz-Date") or ""
    try:
        signed_at = datetime.strptime(timestamp, TIMESTAMP_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise SignatureError(None, "no valid X-Amz-Date header") from None
    if not timestamp.startswith(date):
        raise SignatureError(SIGNATURE_DOES_NOT_MATCH, "the credential's date is not X-Amz-Date's")
    now = datetime.now(UTC)
    if abs(now - signed_at) > MAX_CLOCK_SKEW:
        raise SignatureError(
            f"Signature expired: {timestamp} is now earlier than "
            f"{(now - MAX_CLOCK_SKEW).strftime(TIMESTAMP_FORMAT)} "
            f"({now.strftime(TIMESTAMP_FORMAT)} - 5 min.)"
            if signed_at < now
            else f"Signature not yet current: {timestamp} is still later than "
            f"{(now + MAX_CLOCK_SKEW).strftime(TIMESTAMP_FORMAT)} "
            f"({now.strftime(TIMESTAMP_FORMAT)} + 5 min.)",
            "request time more than 5 minutes off",
        )
    signed = match["signed"].lower().split(";")
    body_hash = hashlib.sha256(request.body).hexdigest()
    claimed_hash = request.header("X-Amz-Content-SHA256")
    if claimed_hash is not None and claimed_hash != body_hash:
        raise SignatureError(SIGNATURE_DOES_NOT_MATCH, "X-Amz-Content-SHA256 is not the body's sha256")
    host = request.header("Host") or "localhost"
    url = f"http://{host}{request.path}" + (f"?{request.query}" if request.query else "")
    received = AWSRequest(
        method=request.method,
        url=url,
        headers={name: value for name, value in request.headers if name.lower() in signed},
        data=request.body,
    )
    received.context["timestamp"] = timestamp
    signer = _ReceivedHeadersSigner(Credentials(access_key, secret_key), region, signed)
    canonical = signer.canonical_request(received)
    expected = signer.signature(signer.string_to_sign(received, canonical), received)
    if not hmac.compare_digest(expected, match["signature"]):
        raise SignatureError(SIGNATURE_DOES_NOT_MATCH, "signature mismatch")
    return Caller(access_key, account_id)
