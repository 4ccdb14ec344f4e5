"""Salesforce stand-in: the OAuth 2.0 username-password flow and the REST sObject Lead create.

POST /services/oauth2/token (form) -> {access_token, instance_url, token_type, issued_at, …};
400 {error: "invalid_grant", error_description: "authentication failure"} for bad credentials.
POST /services/data/v58.0/sobjects/Lead/ (Bearer) -> 201 {id, success: true, errors: []};
401 [{message, errorCode: "INVALID_SESSION_ID"}] without a valid token; 400 REQUIRED_FIELD_MISSING
without LastName or Company.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from tests.standins.server import Reply, Request, StandinServer

CLIENT_ID = "3MVG9-test"
CLIENT_SECRET = "sf-secret"
USERNAME = "api@innovashoes.example"
PASSWORD = "sf-password"
TOKEN = "00Dxx0000001gEF!AQ4AQ-token"


class SalesforceStandin(StandinServer):
    def __init__(self) -> None:
        super().__init__()
        self.leads: list[dict[str, object]] = []
        self.route("POST", "/services/oauth2/token", self._token)
        self.route("POST", "/services/data/v58.0/sobjects/Lead/", self._lead)

    def _token(self, request: Request) -> Reply:
        form = dict(parse_qsl(request.body.decode()))
        expected = {
            "grant_type": "password",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "username": USERNAME,
            "password": PASSWORD,
        }
        if any(form.get(k) != v for k, v in expected.items()):
            return Reply(
                400, {"error": "invalid_grant", "error_description": "authentication failure"}
            )
        return Reply(
            200,
            {
                "access_token": TOKEN,
                "instance_url": self.url,
                "id": f"{self.url}/id/00Dxx0000001gEF/005xx000001Sv6A",
                "token_type": "Bearer",
                "issued_at": "1700000000000",
                "signature": "c2lnbmF0dXJl",
            },
        )

    def _lead(self, request: Request) -> Reply:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return Reply(
                401, [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
            )
        lead = request.json() or {}
        missing = [k for k in ("LastName", "Company") if not lead.get(k)]
        if missing:
            return Reply(
                400,
                [
                    {
                        "message": f"Required fields are missing: {missing}",
                        "errorCode": "REQUIRED_FIELD_MISSING",
                        "fields": missing,
                    }
                ],
            )
        lead_id = f"00Q{len(self.leads) + 1:015d}"
        self.leads.append({**lead, "Id": lead_id})
        return Reply(201, {"id": lead_id, "success": True, "errors": []})
