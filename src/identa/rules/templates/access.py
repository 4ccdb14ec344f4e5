# ruff: noqa: E501 - the templates are rule scripts, kept as their authors would write them
"""Access-control and token templates: account linking, verified e-mail, roles, IP / country."""

from __future__ import annotations

from typing import Any

LINK_PY = '''\
def rule(user, context, configuration, api):
    """Link this login to the one other account with the same verified e-mail.

    Auth0's link-users-by-email asked the Management API for users-by-email and linked them;
    Identa gives the candidates in context["identa"]["usersWithSameEmail"] and links the
    accounts itself once a rule sets context["primaryUser"] (the other account's user_id).
    """
    if not user.get("email") or not user.get("email_verified"):
        return user, context
    candidates = [
        other for other in context.get("identa", {}).get("usersWithSameEmail", [])
        if other.get("email_verified") and other.get("user_id") != user["user_id"]
    ]
    if len(candidates) > 1:
        raise Exception("Multiple user profiles already exist - cannot select base profile to link with")
    if candidates:
        context["primaryUser"] = candidates[0]["user_id"]
    return user, context
'''

LINK_JS = """\
function linkUsersByEmail(user, context, callback) {
  // Identa: the candidates come in context.identa.usersWithSameEmail instead of a
  // Management API call; setting context.primaryUser links this account into that one.
  if (!user.email || !user.email_verified) return callback(null, user, context);
  var candidates = ((context.identa || {}).usersWithSameEmail || []).filter(function (u) {
    return u.email_verified && u.user_id !== user.user_id;
  });
  if (candidates.length > 1) {
    return callback(new Error('Multiple user profiles already exist - cannot select base profile to link with'));
  }
  if (candidates.length === 1) context.primaryUser = candidates[0].user_id;
  return callback(null, user, context);
}
"""

EMAIL_VERIFIED_PY = """\
def rule(user, context, configuration, api):
    if not user.get("email_verified"):
        raise api.UnauthorizedError("Please verify your email before logging in.")
    return user, context
"""

EMAIL_VERIFIED_JS = """\
function emailVerified(user, context, callback) {
  if (!user.email_verified) {
    return callback(new UnauthorizedError('Please verify your email before logging in.'));
  }
  return callback(null, user, context);
}
"""

ROLES_PY = '''\
def rule(user, context, configuration, api):
    """app_metadata.roles (or a default role) as namespaced claims in both tokens."""
    namespace = configuration.get("CLAIMS_NAMESPACE") or "https://identa.example/"
    roles = (user.get("app_metadata") or {}).get("roles") or []
    if not roles and configuration.get("DEFAULT_ROLE"):
        roles = [configuration["DEFAULT_ROLE"]]
        api.users.update_app_metadata(user["user_id"], {"roles": roles})
    context["idToken"][namespace + "roles"] = roles
    context["accessToken"][namespace + "roles"] = roles
    if user.get("email"):
        context["accessToken"][namespace + "email"] = user["email"]
    return user, context
'''

ROLES_JS = """\
function addRolesToTokens(user, context, callback) {
  var namespace = configuration.CLAIMS_NAMESPACE || 'https://identa.example/';
  user.app_metadata = user.app_metadata || {};
  var roles = user.app_metadata.roles || [];
  var pending = Promise.resolve();
  if (!roles.length && configuration.DEFAULT_ROLE) {
    roles = [configuration.DEFAULT_ROLE];
    user.app_metadata.roles = roles;
    pending = auth0.users.updateAppMetadata(user.user_id, user.app_metadata);
  }
  context.idToken[namespace + 'roles'] = roles;
  context.accessToken[namespace + 'roles'] = roles;
  if (user.email) context.accessToken[namespace + 'email'] = user.email;
  pending.then(function () { callback(null, user, context); })
         .catch(function (err) { callback(err); });
}
"""

DENY_IP_PY = '''\
import ipaddress


def rule(user, context, configuration, api):
    """Deny logins from DENY_IP_RANGES (CIDRs) or DENY_COUNTRIES (ISO codes, from geoip)."""
    request = context.get("request") or {}
    ranges = [r.strip() for r in configuration.get("DENY_IP_RANGES", "").split(",") if r.strip()]
    countries = {
        c.strip().upper() for c in configuration.get("DENY_COUNTRIES", "").split(",") if c.strip()
    }
    ip = request.get("ip")
    if ip and ranges:
        address = ipaddress.ip_address(ip)
        for cidr in ranges:
            network = ipaddress.ip_network(cidr, strict=False)
            if address.version == network.version and address in network:
                raise api.UnauthorizedError("Access denied from your network.")
    country = ((request.get("geoip") or {}).get("country_code") or "").upper()
    if country and country in countries:
        raise api.UnauthorizedError("Access denied from your country.")
    return user, context
'''

DENY_IP_JS = """\
function denyByIpRangeOrCountry(user, context, callback) {
  function toNumber(ip) {
    var parts = String(ip).split('.');
    if (parts.length !== 4) return null;
    var n = 0;
    for (var i = 0; i < 4; i++) {
      var part = parseInt(parts[i], 10);
      if (isNaN(part) || part < 0 || part > 255) return null;
      n = n * 256 + part;
    }
    return n;
  }
  function inRange(ip, cidr) {
    var pieces = cidr.split('/');
    var base = toNumber(pieces[0]);
    var address = toNumber(ip);
    if (base === null || address === null) return false;
    var bits = pieces.length > 1 ? parseInt(pieces[1], 10) : 32;
    var size = Math.pow(2, 32 - bits);
    return Math.floor(address / size) === Math.floor(base / size);
  }
  var request = context.request || {};
  var ranges = (configuration.DENY_IP_RANGES || '').split(',').map(function (r) { return r.trim(); }).filter(Boolean);
  var countries = (configuration.DENY_COUNTRIES || '').split(',').map(function (c) { return c.trim().toUpperCase(); }).filter(Boolean);
  for (var i = 0; i < ranges.length; i++) {
    if (request.ip && inRange(request.ip, ranges[i])) {
      return callback(new UnauthorizedError('Access denied from your network.'));
    }
  }
  var country = ((request.geoip || {}).country_code || '').toUpperCase();
  if (country && countries.indexOf(country) !== -1) {
    return callback(new UnauthorizedError('Access denied from your country.'));
  }
  return callback(null, user, context);
}
"""

TEMPLATES: tuple[dict[str, Any], ...] = (
    {
        "id": "link-users-by-email",
        "name": "Link accounts with the same verified e-mail",
        "category": "access control",
        "description": "Links a login's account into the one other account sharing its verified "
        "e-mail (context.primaryUser); refuses when several candidates exist.",
        "python": LINK_PY,
        "javascript": LINK_JS,
    },
    {
        "id": "email-verified",
        "name": "Require a verified e-mail",
        "category": "access control",
        "description": "Denies the login until the user has verified their e-mail address.",
        "python": EMAIL_VERIFIED_PY,
        "javascript": EMAIL_VERIFIED_JS,
    },
    {
        "id": "add-roles-claims",
        "name": "Add roles and claims to tokens",
        "category": "enrich profile",
        "description": "Puts app_metadata.roles (or DEFAULT_ROLE) and the e-mail into namespaced "
        "ID / access token claims (CLAIMS_NAMESPACE).",
        "python": ROLES_PY,
        "javascript": ROLES_JS,
        "configuration": ("CLAIMS_NAMESPACE", "DEFAULT_ROLE"),
    },
    {
        "id": "deny-ip-or-country",
        "name": "Deny by IP range or country",
        "category": "access control",
        "description": "Denies logins from DENY_IP_RANGES (IPv4/IPv6 CIDRs; the JavaScript form "
        "handles IPv4) or from DENY_COUNTRIES (ISO codes, from context.request.geoip).",
        "python": DENY_IP_PY,
        "javascript": DENY_IP_JS,
        "configuration": ("DENY_IP_RANGES", "DENY_COUNTRIES"),
    },
)
