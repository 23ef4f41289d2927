"""JWT authorizers as HTTP APIs run them: the bearer token checked against the issuer's JWKS.

What API Gateway checks, and so does this: the token (with or without ``Bearer ``) decodes, its
``kid`` names a key of the issuer's JWKS, its RSA signature verifies, ``iss`` is the authorizer's
issuer, ``aud`` (or, without it, ``client_id``) is one of its audiences, and ``exp``/``nbf``/
``iat`` hold now. Anything else is 401 ``{"message":"Unauthorized"}``.

The keys come from ``<issuer>/.well-known/jwks.json`` through PyJWT's ``PyJWKClient`` (cached 5
minutes, no redirects followed). The local cloud never leaves this machine: an issuer whose JWKS
is not on 127.0.0.1 is refused, so its tokens are all 401 (and the gateway's log says why).
Not reproduced: the discovery document's ``jwks_uri`` (the conventional path is used), route
authorization scopes, and AWS's key cache lifetime.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import jwt

ALLOWED_JWKS_HOST = "127.0.0.1"
JWKS_PATH = "/.well-known/jwks.json"
JWKS_TIMEOUT_SECONDS = 5.0
JWKS_CACHE_SECONDS = 300.0
# API Gateway accepts RSA-signed tokens only.
ALGORITHMS = ["RS256", "RS384", "RS512"]
_BEARER = re.compile(r"^bearer(\s+|$)", re.IGNORECASE)


@dataclass(frozen=True)
class JwtConfiguration:
    issuer: str
    audiences: tuple[str, ...]

    @property
    def jwks_url(self) -> str:
        return self.issuer.rstrip("/") + JWKS_PATH


class TokenRejectedError(Exception):
    """The token does not authorize the request (always 401 Unauthorized; the text is for the log)."""


def bearer_token(header: str | None) -> str:
    """The token of an ``Authorization`` header, which API Gateway takes with or without ``Bearer``."""
    value = _BEARER.sub("", (header or "").strip(), count=1).strip()
    if not value:
        raise TokenRejectedError("no token in the Authorization header")
    return value


def event_claims(claims: dict[str, Any]) -> dict[str, str]:
    """Claims as the 2.0 event carries them: strings, lists as ``[a b]``."""
    return {
        name: f"[{' '.join(str(item) for item in value)}]" if isinstance(value, list) else str(value)
        for name, value in claims.items()
    }


class JwtVerifier:
    """One JWKS client per issuer, shared by the gateway's request threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._clients: dict[str, jwt.PyJWKClient] = {}

    def _client(self, url: str) -> jwt.PyJWKClient:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or parts.hostname != ALLOWED_JWKS_HOST:
            raise TokenRejectedError(
                f"the issuer's JWKS {url[:200]} is not on {ALLOWED_JWKS_HOST}: "
                "the local cloud fetches nothing from anywhere else"
            )
        with self._lock:
            client = self._clients.get(url)
            if client is None:
                client = jwt.PyJWKClient(url, lifespan=JWKS_CACHE_SECONDS, timeout=JWKS_TIMEOUT_SECONDS)
                self._clients[url] = client
            return client

    def verify(self, config: JwtConfiguration, authorization: str | None) -> dict[str, Any]:
        """The token's claims if it authorizes the request, else TokenRejectedError."""
        token = bearer_token(authorization)
        client = self._client(config.jwks_url)
        try:
            key = client.get_signing_key_from_jwt(token)
            claims = jwt.decode(
                token,
                key.key,
                algorithms=ALGORITHMS,
                issuer=config.issuer,
                options={"verify_aud": False, "require": ["exp", "iss"]},
            )
        except (jwt.PyJWTError, ValueError) as exc:
            raise TokenRejectedError(f"{type(exc).__name__}: {str(exc)[:200]}") from None
        audiences = claims.get("aud", claims.get("client_id"))
        audiences = audiences if isinstance(audiences, list) else [audiences]
        if not set(map(str, audiences)) & set(config.audiences):
            raise TokenRejectedError(
                f"audience {str(audiences)[:100]} is not one of {list(config.audiences)}"
            )
        return claims
