"""Delivering an authorization response: query, fragment, form_post or web_message."""

from __future__ import annotations

import html
import json
import secrets
from urllib.parse import urlencode, urlsplit

from starlette.responses import HTMLResponse, RedirectResponse, Response


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def authorization_response(redirect_uri: str, mode: str, params: dict[str, str]) -> Response:
    params = {k: v for k, v in params.items() if v is not None}
    if mode == "query":
        joiner = "&" if "?" in redirect_uri else "?"
        return RedirectResponse(redirect_uri + joiner + urlencode(params), status_code=302)
    if mode == "fragment":
        return RedirectResponse(redirect_uri + "#" + urlencode(params), status_code=302)
    nonce = secrets.token_urlsafe(16)
    csp = f"default-src 'none'; script-src 'nonce-{nonce}'; form-action {_origin(redirect_uri)}"
    if mode == "form_post":
        # OAuth 2.0 Form Post Response Mode: auto-submitted, with a button when scripts are off.
        fields = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in params.items()
        )
        body = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Continue</title>'
            f'</head><body><form method="post" action="{html.escape(redirect_uri)}">{fields}'
            '<noscript><button type="submit">Continue</button></noscript></form>'
            f'<script nonce="{nonce}">document.forms[0].submit();</script></body></html>'
        )
        return HTMLResponse(
            body, headers={"Content-Security-Policy": csp, "Cache-Control": "no-store"}
        )
    # web_message: the page posts the response to the window that opened it (auth0-spa-js).
    # "<" escaped so that no value (state is the client's) can close the script element.
    message = json.dumps({"type": "authorization_response", "response": params}).replace(
        "<", "\\u003c"
    )
    target = json.dumps(_origin(redirect_uri)).replace("<", "\\u003c")
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Authorization</title>'
        f'</head><body><script nonce="{nonce}">(function(){{var t=window.opener||window.parent;'
        f"t.postMessage({message}, {target});}})();</script></body></html>"
    )
    return HTMLResponse(
        body,
        headers={
            "Content-Security-Policy": (
                f"default-src 'none'; script-src 'nonce-{nonce}'; "
                f"frame-ancestors {_origin(redirect_uri)}"
            ),
            "Cache-Control": "no-store",
        },
    )
