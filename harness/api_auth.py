"""How the harness authenticates to a deployed API, as the stack's ``api_authorization`` output says.

- ``NONE``: nothing is added (the sample's public API).
- ``AWS_IAM``: every request is signed with SigV4 for ``execute-api`` by botocore's own signer,
  with the local cloud's credentials on the local target and the default credential chain
  (``AWS_PROFILE``, ...) on AWS.
- ``JWT``: ``Authorization: Bearer <token>``, the token from ``--token`` or ``$TOKEN``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials, ReadOnlyCredentials

from harness.errors import HarnessError

MODES = ("NONE", "AWS_IAM", "JWT")
TOKEN_VARIABLE = "TOKEN"
SERVICE = "execute-api"


@dataclass(frozen=True)
class ApiAuth:
    mode: str = "NONE"
    region: str = "us-east-1"
    credentials: Credentials | ReadOnlyCredentials | None = None  # AWS_IAM
    token: str | None = None  # JWT

    @classmethod
    def for_stack(cls, outputs: dict[str, Any], target: str, token: str | None = None) -> ApiAuth:
        """What the deployed stack requires (a stack from before the output existed is NONE)."""
        mode = str(outputs.get("api_authorization") or "NONE")
        region = str(outputs.get("region") or "us-east-1")
        if mode == "AWS_IAM":
            return cls(mode, region, credentials=_credentials(target))
        if mode == "JWT":
            token = token or os.environ.get(TOKEN_VARIABLE)
            if not token:
                raise HarnessError(
                    f"the API takes JWTs only (api_authorization = JWT): pass --token or set {TOKEN_VARIABLE}"
                )
            return cls(mode, region, token=token)
        if mode != "NONE":
            raise HarnessError(f"api_authorization {mode!r} is none of {', '.join(MODES)}")
        return cls(mode, region)

    def headers(self, method: str, url: str, body: bytes, headers: dict[str, str]) -> dict[str, str]:
        """``headers`` plus what authenticates this request."""
        if self.mode == "JWT":
            return {**headers, "Authorization": f"Bearer {self.token}"}
        if self.mode == "AWS_IAM":
            signed = AWSRequest(method=method, url=url, data=body, headers=headers)
            SigV4Auth(self.credentials, SERVICE, self.region).add_auth(signed)
            return dict(signed.headers.items())
        return dict(headers)

    def request(self, method: str, url: str, body: bytes = b"", timeout: float = 300) -> requests.Response:
        """Send one request, authenticated (JSON body when there is one)."""
        headers = {"Content-Type": "application/json"} if body else {}
        return requests.request(
            method, url, data=body, headers=self.headers(method, url, body, headers), timeout=timeout
        )


def _credentials(target: str) -> Credentials | ReadOnlyCredentials:
    if target == "local":
        from harness.localcloud.config import CREDENTIALS

        return Credentials(CREDENTIALS["AWS_ACCESS_KEY_ID"], CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
    import botocore.session

    found = botocore.session.get_session().get_credentials()
    if found is None:
        raise HarnessError("AWS_IAM needs AWS credentials to sign with (AWS_PROFILE or AWS_ACCESS_KEY_ID)")
    return found.get_frozen_credentials()
