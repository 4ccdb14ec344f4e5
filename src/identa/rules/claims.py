"""Which claims a rule may add to tokens, and the `context` object rules see (Auth0 §5.3).

Claim rule (documented in README "Rules"): a claim a rule puts in `context.idToken` /
`context.accessToken` is kept when its name is an `http(s)://` URL (a namespaced claim, as
Auth0 requires for OIDC-conformant applications), or when it is neither a JWT / OIDC protocol
claim (`iss`, `sub`, `aud`, `exp`, `nonce`, `sid` …) nor an OIDC standard claim (`email`,
`name`, `picture` … OIDC Core §5.1), so a rule can never rewrite who the token is about.
`context.accessToken.scope` given as a list replaces the access token's `scope`.
"""

from __future__ import annotations

from typing import Any

PROTOCOL_CLAIMS = frozenset(
    [
        "iss",
        "sub",
        "aud",
        "exp",
        "nbf",
        "iat",
        "jti",
        "azp",
        "nonce",
        "auth_time",
        "at_hash",
        "c_hash",
        "acr",
        "amr",
        "sid",
        "scope",
        "gty",
        "org_id",
        "org_name",
        "cnf",
        "act",
        "may_act",
        "client_id",
        "permissions",
    ]
)
STANDARD_CLAIMS = frozenset(
    [
        "name",
        "given_name",
        "family_name",
        "middle_name",
        "nickname",
        "preferred_username",
        "profile",
        "picture",
        "website",
        "email",
        "email_verified",
        "gender",
        "birthdate",
        "zoneinfo",
        "locale",
        "phone_number",
        "phone_number_verified",
        "address",
        "updated_at",
    ]
)
MAX_CLAIMS_BYTES = 32 * 1024


def is_allowed_claim(name: str) -> bool:
    if name.startswith(("http://", "https://")):
        return True
    return bool(name) and name not in PROTOCOL_CLAIMS and name not in STANDARD_CLAIMS


def filter_claims(
    claims: dict[str, Any], *, access_token: bool = False
) -> tuple[dict[str, Any], list[str]]:
    """(kept claims, names dropped)."""
    kept: dict[str, Any] = {}
    dropped: list[str] = []
    for name, value in claims.items():
        if not isinstance(name, str):
            continue
        if access_token and name == "scope" and isinstance(value, list):
            kept["scope"] = " ".join(str(item) for item in value if isinstance(item, str))
        elif value is not None and is_allowed_claim(name):
            kept[name] = value
        else:
            dropped.append(name)
    return kept, dropped


def build_context(
    *,
    tenant: str,
    client: dict[str, Any],
    connection: dict[str, Any],
    protocol: str,
    logins_count: int,
    request: dict[str, Any],
    session_id: str | None,
    methods: list[dict[str, Any]],
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The `context` of Auth0 rules (§5.3); `geoip` stays empty until enrichment provides it."""
    context: dict[str, Any] = {
        "tenant": tenant,
        "clientID": client.get("client_id"),
        "clientName": client.get("name"),
        "clientMetadata": {
            str(k): str(v) for k, v in (client.get("client_metadata") or {}).items()
        },
        "connection": connection.get("name"),
        "connectionID": connection.get("id"),
        "connectionStrategy": connection.get("strategy"),
        "connectionMetadata": dict(connection.get("metadata") or {}),
        "protocol": protocol,
        "stats": {"loginsCount": logins_count},
        "request": {
            "userAgent": request.get("userAgent"),
            "ip": request.get("ip"),
            "hostname": request.get("hostname"),
            "query": dict(request.get("query") or {}),
            "body": dict(request.get("body") or {}),
            "geoip": dict(request.get("geoip") or {}),
        },
        "sessionID": session_id,
        "idToken": {},
        "accessToken": {},
        "authentication": {"methods": methods},
        "authorization": {"roles": []},
        "sso": {"with_auth0": False, "with_dbconn": False, "current_clients": []},
    }
    if extra:
        context.update(extra)
    return context
