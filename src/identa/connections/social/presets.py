"""What Identa knows about each upstream strategy: endpoints, default scopes, PKCE support,
and how the provider's profile maps to the normalized profile.

Endpoints are the providers' documented production ones; a connection may override any of
them with the Identa option `endpoints` (regional hosts, an egress proxy, or a local stand-in
in tests): {"authorization", "token", "profile", "emails", "jwks", "issuer"}.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from identa.connections.social.profiles import OIDC_CLAIMS

OIDC = "oidc"
OAUTH2 = "oauth2"


@dataclass(frozen=True)
class ProviderSpec:
    strategy: str
    # "oidc": an ID token is requested and validated against the provider's JWKS;
    # "oauth2": the profile comes from the profile (userinfo) endpoint only.
    protocol: str
    authorization: str = ""
    token: str = ""
    profile: str | None = None
    jwks: str | None = None
    issuer: str | None = None
    emails: str | None = None
    scopes: tuple[str, ...] = ()
    pkce: bool = True
    token_auth: str = "client_secret_post"
    mapping: dict[str, str] = field(default_factory=lambda: dict(OIDC_CLAIMS))
    extra_mapping: dict[str, str] = field(default_factory=dict)
    # Auth0's boolean connection options that ask for one more permission (scope).
    scope_options: dict[str, str] = field(default_factory=dict)
    email_verified_default: bool = False
    requires_email: bool = True
    is_social: bool = True
    authorize_params: dict[str, str] = field(default_factory=dict)
    display_name: str = ""


PRESETS: dict[str, ProviderSpec] = {
    "google-oauth2": ProviderSpec(
        strategy="google-oauth2",
        protocol=OIDC,
        display_name="Google",
        authorization="https://accounts.google.com/o/oauth2/v2/auth",
        token="https://oauth2.googleapis.com/token",
        profile="https://openidconnect.googleapis.com/v1/userinfo",
        jwks="https://www.googleapis.com/oauth2/v3/certs",
        issuer="https://accounts.google.com",
        scopes=("openid", "email", "profile"),
        extra_mapping={"locale": "locale", "hd": "hd"},
    ),
    "github": ProviderSpec(
        strategy="github",
        protocol=OAUTH2,
        display_name="GitHub",
        authorization="https://github.com/login/oauth/authorize",
        token="https://github.com/login/oauth/access_token",
        profile="https://api.github.com/user",
        emails="https://api.github.com/user/emails",
        scopes=("read:user", "user:email"),
        mapping={
            "user_id": "id",
            "email": "email",
            "email_verified": "email_verified",
            "name": "name",
            "nickname": "login",
            "picture": "avatar_url",
        },
        extra_mapping={
            "followers": "followers",
            "location": "location",
            "company": "company",
            "blog": "blog",
            "bio": "bio",
        },
        scope_options={
            "follow": "user:follow",
            "read_org": "read:org",
            "public_repo": "public_repo",
        },
    ),
    "facebook": ProviderSpec(
        strategy="facebook",
        protocol=OAUTH2,
        display_name="Facebook",
        authorization="https://www.facebook.com/v19.0/dialog/oauth",
        token="https://graph.facebook.com/v19.0/oauth/access_token",
        profile=(
            "https://graph.facebook.com/v19.0/me?fields=id,name,first_name,last_name,email,"
            "picture.type(large),birthday,gender,location,likes{name}"
        ),
        scopes=("public_profile", "email"),
        mapping={
            "user_id": "id",
            "email": "email",
            "name": "name",
            "given_name": "first_name",
            "family_name": "last_name",
            "picture": "picture.data.url",
        },
        extra_mapping={
            "birthday": "birthday",
            "gender": "gender",
            "location": "location.name",
            "interests": "likes.data[].name",
        },
        scope_options={
            "user_birthday": "user_birthday",
            "user_location": "user_location",
            "user_likes": "user_likes",
            "user_gender": "user_gender",
        },
    ),
    "twitter": ProviderSpec(
        strategy="twitter",
        protocol=OAUTH2,
        display_name="X (Twitter)",
        authorization="https://x.com/i/oauth2/authorize",
        token="https://api.x.com/2/oauth2/token",
        profile=(
            "https://api.x.com/2/users/me?user.fields=id,name,username,profile_image_url,"
            "location,description,public_metrics,confirmed_email"
        ),
        scopes=("users.read", "tweet.read", "offline.access"),
        token_auth="client_secret_basic",
        mapping={
            "user_id": "data.id",
            "email": "data.confirmed_email",
            "name": "data.name",
            "nickname": "data.username",
            "picture": "data.profile_image_url",
        },
        extra_mapping={
            "screen_name": "data.username",
            "location": "data.location",
            "description": "data.description",
            "followers": "data.public_metrics.followers_count",
        },
        scope_options={"email": "users.email"},
        # X only reports an address it has confirmed (`confirmed_email`, scope users.email).
        email_verified_default=True,
        # Most X accounts share no e-mail address: a profile without one is accepted.
        requires_email=False,
    ),
    "linkedin": ProviderSpec(
        strategy="linkedin",
        protocol=OAUTH2,
        display_name="LinkedIn",
        authorization="https://www.linkedin.com/oauth/v2/authorization",
        token="https://www.linkedin.com/oauth/v2/accessToken",
        profile="https://api.linkedin.com/v2/userinfo",
        scopes=("openid", "profile", "email"),
        pkce=False,
        extra_mapping={"locale": "locale"},
    ),
    "windowslive": ProviderSpec(
        strategy="windowslive",
        protocol=OAUTH2,
        display_name="Microsoft",
        authorization="https://login.microsoftonline.com/consumers/oauth2/v2.0/authorize",
        token="https://login.microsoftonline.com/consumers/oauth2/v2.0/token",
        profile="https://graph.microsoft.com/v1.0/me",
        scopes=("openid", "profile", "email", "offline_access", "User.Read"),
        mapping={
            "user_id": "id",
            "email": "mail",
            "name": "displayName",
            "given_name": "givenName",
            "family_name": "surname",
        },
        extra_mapping={"locale": "preferredLanguage", "upn": "userPrincipalName"},
    ),
    "apple": ProviderSpec(
        strategy="apple",
        protocol=OIDC,
        display_name="Apple",
        authorization="https://appleid.apple.com/auth/authorize",
        token="https://appleid.apple.com/auth/token",
        profile=None,
        jwks="https://appleid.apple.com/auth/keys",
        issuer="https://appleid.apple.com",
        scopes=("name", "email"),
        pkce=False,
        mapping={
            "user_id": "sub",
            "email": "email",
            "email_verified": "email_verified",
            "given_name": "user.name.firstName",
            "family_name": "user.name.lastName",
        },
        extra_mapping={"is_private_email": "is_private_email"},
        # Apple posts the result back (and the name only on the first authorization).
        authorize_params={"response_mode": "form_post"},
    ),
}

GENERIC = {
    "oidc": ProviderSpec(strategy="oidc", protocol=OIDC, is_social=False, display_name=""),
    "oauth2": ProviderSpec(strategy="oauth2", protocol=OAUTH2, display_name=""),
}

UPSTREAM_STRATEGIES = frozenset({*PRESETS, *GENERIC})
SECRET_OPTIONS = ("client_secret", "app_secret")


def is_upstream(strategy: str) -> bool:
    return strategy in UPSTREAM_STRATEGIES


def spec_for(strategy: str) -> ProviderSpec:
    return PRESETS.get(strategy) or GENERIC[strategy]
