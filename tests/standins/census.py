"""Census Data API stand-in: GET /data/2022/acs/acs5?get=B19013_001E&for=zip code tabulation area:Z

Answers as api.census.gov does: a JSON array of rows, the header row first
(`[["B19013_001E", "zip code tabulation area"], ["126831", "94103"]]`); 204 with no body when the
zip code is unknown; 400 with a plain-text message for a malformed `for`.
"""

from __future__ import annotations

from tests.standins.server import Reply, Request, StandinServer

INCOMES = {"94103": 126831, "10001": 101409, "97201": 71238}
PATH = "/data/2022/acs/acs5"


class CensusStandin(StandinServer):
    def __init__(self) -> None:
        super().__init__()
        self.route("GET", PATH, self._acs)

    def _acs(self, request: Request) -> Reply:
        geography = request.query.get("for", "")
        prefix = "zip code tabulation area:"
        if request.query.get("get") != "B19013_001E" or not geography.startswith(prefix):
            return Reply(400, "error: unknown variable or geography")
        zip_code = geography[len(prefix) :]
        if zip_code not in INCOMES:
            return Reply(204, b"")
        return Reply(
            200, [["B19013_001E", "zip code tabulation area"], [str(INCOMES[zip_code]), zip_code]]
        )
