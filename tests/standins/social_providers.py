"""A local stand-in for the upstream identity providers Identa's presets talk to.

One threaded HTTP server speaks, from one configured account, each provider's documented
responses: OIDC discovery, JWKS, /authorize (answers at once with a code, or an error), /token
(authorization code, PKCE S256 checked, client authentication checked, ID token signed RS256),
OIDC userinfo (Google, LinkedIn), GitHub's /user and /user/emails, Facebook's Graph /me,
X's /2/users/me and Microsoft Graph's /v1.0/me. Apple's ES256 client-secret JWT is verified.

`fault` makes it misbehave on purpose: wrong_signature, wrong_audience, wrong_issuer,
wrong_nonce, expired, no_id_token, token_error, slow (answers /token after `slow_seconds`),
refresh_error (refuses the refresh-token grant).

RFC 9207: `response_iss` is what /authorize puts in its answer's `iss` (None: nothing),
`announce_iss` sets `authorization_response_iss_parameter_supported` in discovery. The refresh-
token grant (RFC 6749 §6) issues a new access token and rotates the refresh token.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey


@dataclass
class Account:
    sub: str = "10769150350006150715113082367"
    email: str | None = "ada@example.com"
    email_verified: bool = True
    name: str = "Ada Lovelace"
    given_name: str = "Ada"
    family_name: str = "Lovelace"
    picture: str = "https://images.example/ada.png"
    login: str = "ada"
    birthday: str = "12/10/1990"
    location: str = "London, United Kingdom"
    likes: list[str] = field(default_factory=lambda: ["Running", "Mathematics"])
    followers: int = 42


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    nonce: str | None
    challenge: str | None
    scope: str


class StandIn:
    def __init__(self, client_id: str = "standin-client", client_secret: str = "standin-secret"):
        self.client_id = client_id
        self.client_secret = client_secret
        self.account = Account()
        self.fault: str | None = None
        self.slow_seconds = 2.0
        self.deny = False
        self.response_iss: str | None = None
        self.announce_iss = False
        self.refreshes: list[str] = []
        self.refresh_tokens: dict[str, str] = {}
        self.apple_public_key: ECKey | None = None
        self.key = RSAKey.generate_key(2048, parameters={"kid": "standin-1"})
        self.other_key = RSAKey.generate_key(2048, parameters={"kid": "standin-1"})
        self.codes: dict[str, Grant] = {}
        self.tokens: dict[str, str] = {}
        self.requests: list[tuple[str, str]] = []
        self.authorize_params: list[dict[str, str]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> StandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reset(self) -> None:
        self.account = Account()
        self.fault = None
        self.deny = False
        self.response_iss = None
        self.announce_iss = False
        self.refreshes.clear()

    def endpoints(self, strategy: str) -> dict[str, str]:
        """The `endpoints` option that points a preset at this stand-in."""
        profile = {
            "google-oauth2": "/userinfo",
            "linkedin": "/v2/userinfo",
            "github": "/user",
            "facebook": "/me?fields=id,name,first_name,last_name,email,picture,birthday,"
            "location,likes",
            "twitter": "/2/users/me?user.fields=id,name,username,profile_image_url,location,"
            "public_metrics,confirmed_email",
            "windowslive": "/v1.0/me",
        }
        out = {
            "authorization": f"{self.url}/authorize",
            "token": f"{self.url}/token",
            "jwks": f"{self.url}/jwks",
            "issuer": self.url,
        }
        if strategy in profile:
            out["profile"] = self.url + profile[strategy]
        if strategy == "github":
            out["emails"] = f"{self.url}/user/emails"
        return out

    # -- responses -------------------------------------------------------------------------

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.url,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "userinfo_endpoint": f"{self.url}/userinfo",
            "jwks_uri": f"{self.url}/jwks",
            "response_types_supported": ["code"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "authorization_response_iss_parameter_supported": self.announce_iss,
        }

    def oidc_claims(self) -> dict[str, Any]:
        a = self.account
        claims: dict[str, Any] = {
            "sub": a.sub,
            "name": a.name,
            "given_name": a.given_name,
            "family_name": a.family_name,
            "picture": a.picture,
            "locale": "en-GB",
        }
        if a.email is not None:
            claims.update(email=a.email, email_verified=a.email_verified)
        return claims

    def id_token(self, grant: Grant) -> str:
        now = int(time.time())
        claims = {
            **self.oidc_claims(),
            "iss": self.url,
            "aud": grant.client_id,
            "iat": now,
            "exp": now + 600,
        }
        if grant.nonce is not None:
            claims["nonce"] = grant.nonce
        if self.fault == "wrong_audience":
            claims["aud"] = "someone-else"
        elif self.fault == "wrong_issuer":
            claims["iss"] = "https://evil.example"
        elif self.fault == "wrong_nonce":
            claims["nonce"] = "not-the-nonce"
        elif self.fault == "expired":
            claims.update(iat=now - 7200, exp=now - 3600)
        if grant.scope == "name email" and self.account.email is not None:
            claims["email_verified"] = "true" if self.account.email_verified else "false"
        key = self.other_key if self.fault == "wrong_signature" else self.key
        return jwt.encode({"alg": "RS256", "kid": "standin-1"}, claims, key)

    def profile(self, path: str) -> dict[str, Any] | list[Any]:
        a = self.account
        if path in ("/userinfo", "/v2/userinfo"):
            return self.oidc_claims()
        if path == "/user":
            return {
                "id": int(a.sub[:9]),
                "login": a.login,
                "name": a.name,
                "email": None,
                "avatar_url": a.picture,
                "followers": a.followers,
                "location": a.location,
                "company": "Analytical Engines",
            }
        if path == "/user/emails":
            if a.email is None:
                return []
            return [
                {"email": "old@example.org", "primary": False, "verified": True},
                {"email": a.email, "primary": True, "verified": a.email_verified},
            ]
        if path == "/me":
            out: dict[str, Any] = {
                "id": a.sub,
                "name": a.name,
                "first_name": a.given_name,
                "last_name": a.family_name,
                "picture": {"data": {"url": a.picture, "is_silhouette": False}},
                "birthday": a.birthday,
                "location": {"id": "106078429431815", "name": a.location},
                "likes": {"data": [{"name": n, "id": str(i)} for i, n in enumerate(a.likes)]},
            }
            if a.email is not None:
                out["email"] = a.email
            return out
        if path == "/2/users/me":
            data: dict[str, Any] = {
                "id": a.sub,
                "name": a.name,
                "username": a.login,
                "profile_image_url": a.picture,
                "location": a.location,
                "public_metrics": {"followers_count": a.followers, "following_count": 7},
            }
            if a.email is not None and a.email_verified:
                data["confirmed_email"] = a.email
            return {"data": data}
        if path == "/v1.0/me":
            return {
                "id": a.sub,
                "displayName": a.name,
                "givenName": a.given_name,
                "surname": a.family_name,
                "mail": a.email,
                "userPrincipalName": a.email or f"{a.login}@outlook.example",
                "preferredLanguage": "en-GB",
            }
        raise KeyError(path)

    def _check_client(self, headers: Any, form: dict[str, str]) -> bool:
        auth = headers.get("Authorization", "")
        if auth.startswith("Basic "):
            client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        if client_id != self.client_id:
            return False
        if self.apple_public_key is not None:
            try:
                token = jwt.decode(secret, self.apple_public_key, algorithms=["ES256"])
            except Exception:
                return False
            return token.claims.get("sub") == self.client_id and token.claims.get("iss") == "TEAM1"
        return secret == self.client_secret

    def token(self, headers: Any, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if not self._check_client(headers, form):
            return 401, {"error": "invalid_client"}
        if self.fault == "slow":
            time.sleep(self.slow_seconds)
        if self.fault == "token_error":
            return 400, {"error": "invalid_grant", "error_description": "code expired"}
        if form.get("grant_type") == "refresh_token":
            return self.refresh(form.get("refresh_token", ""))
        grant = self.codes.pop(form.get("code", ""), None)
        if grant is None or grant.redirect_uri != form.get("redirect_uri"):
            return 400, {"error": "invalid_grant", "error_description": "unknown code"}
        if grant.challenge is not None:
            verifier = form.get("code_verifier", "")
            digest = hashlib.sha256(verifier.encode()).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant.challenge:
                return 400, {"error": "invalid_grant", "error_description": "PKCE failed"}
        access = secrets.token_urlsafe(24)
        self.tokens[access] = grant.scope
        refresh = "rt-" + secrets.token_urlsafe(16)
        self.refresh_tokens[refresh] = grant.scope
        body: dict[str, Any] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": 3600,
            "refresh_token": refresh,
            "scope": grant.scope,
        }
        if (
            grant.nonce is not None
            or "openid" in grant.scope.split()
            or grant.scope == "name email"
        ) and self.fault != "no_id_token":
            body["id_token"] = self.id_token(grant)
        return 200, body

    def refresh(self, token: str) -> tuple[int, dict[str, Any]]:
        self.refreshes.append(token)
        scope = self.refresh_tokens.pop(token, None)
        if self.fault == "refresh_error" or scope is None:
            return 400, {"error": "invalid_grant", "error_description": "refresh token revoked"}
        access = secrets.token_urlsafe(24)
        self.tokens[access] = scope
        rotated = "rt-" + secrets.token_urlsafe(16)
        self.refresh_tokens[rotated] = scope
        return 200, {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": 3600,
            "refresh_token": rotated,
            "scope": scope,
        }

    # -- HTTP ------------------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _json(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                standin.requests.append(("GET", parts.path))
                if parts.path == "/.well-known/openid-configuration":
                    return self._json(200, standin.discovery())
                if parts.path == "/jwks":
                    return self._json(200, {"keys": [standin.key.as_dict(private=False)]})
                if parts.path == "/authorize":
                    standin.authorize_params.append(query)
                    target = query["redirect_uri"]
                    if standin.deny:
                        params = {
                            "error": "access_denied",
                            "error_description": "The user denied the request",
                            "state": query.get("state", ""),
                        }
                    else:
                        code = secrets.token_urlsafe(16)
                        standin.codes[code] = Grant(
                            client_id=query["client_id"],
                            redirect_uri=target,
                            nonce=query.get("nonce"),
                            challenge=query.get("code_challenge"),
                            scope=query.get("scope", ""),
                        )
                        params = {"code": code, "state": query.get("state", "")}
                    if standin.response_iss is not None:
                        params["iss"] = standin.response_iss
                    self.send_response(302)
                    self.send_header("Location", f"{target}?{urlencode(params)}")
                    self.end_headers()
                    return None
                bearer = self.headers.get("Authorization", "").removeprefix("Bearer ")
                if bearer not in standin.tokens:
                    return self._json(401, {"error": "invalid_token"})
                try:
                    return self._json(200, standin.profile(parts.path))
                except KeyError:
                    return self._json(404, {"error": "not_found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                standin.requests.append(("POST", self.path))
                if urlsplit(self.path).path == "/token":
                    status, body = standin.token(self.headers, form)
                    return self._json(status, body)
                return self._json(404, {"error": "not_found"})

        return Handler
