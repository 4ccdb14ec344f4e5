"""FullContact Person API v2 stand-in: GET /v2/person.json?email=…&apiKey=…

Shapes follow FullContact's v2 documentation: 200 with status, likelihood, contactInfo,
demographics, photos and socialProfiles; 404 `{status, message}` when nothing is known;
403 when the API key is missing or wrong.
"""

from __future__ import annotations

from typing import Any

from tests.standins.server import Reply, Request, StandinServer

API_KEY = "fc-test-key"


def person(email: str) -> dict[str, Any]:
    local = email.split("@", 1)[0]
    return {
        "status": 200,
        "requestId": "5b1c6d7e-0000-4000-8000-000000000001",
        "likelihood": 0.95,
        "photos": [
            {
                "type": "twitter",
                "typeId": "twitter",
                "typeName": "Twitter",
                "url": f"https://pbs.example/{local}.jpg",
                "isPrimary": True,
            }
        ],
        "contactInfo": {"familyName": "Doe", "givenName": "John", "fullName": "John Doe"},
        "demographics": {
            "locationGeneral": "Portland, Oregon, United States",
            "gender": "Male",
            "birthDate": "1990-04-12",
        },
        "socialProfiles": [
            {
                "type": "twitter",
                "typeId": "twitter",
                "typeName": "Twitter",
                "url": f"https://twitter.com/{local}",
                "username": local,
                "id": "123456",
                "followers": 312,
                "following": 180,
            },
            {
                "type": "facebook",
                "typeId": "facebook",
                "typeName": "Facebook",
                "url": f"https://facebook.com/{local}",
                "username": local,
            },
        ],
        "digitalFootprint": {"topics": [{"value": "Running", "provider": "klout"}]},
    }


class FullContactStandin(StandinServer):
    def __init__(self, known: set[str] | None = None) -> None:
        super().__init__()
        self.known = known if known is not None else {"john.doe@innovashoes.example"}
        self.route("GET", "/v2/person.json", self._person)

    def _person(self, request: Request) -> Reply:
        if request.query.get("apiKey") != API_KEY:
            return Reply(403, {"status": 403, "message": "Api key was not provided or is invalid."})
        email = request.query.get("email", "")
        if email not in self.known:
            return Reply(
                404,
                {"status": 404, "message": "Searched within last 24 hours. No results found."},
            )
        return Reply(200, person(email))
