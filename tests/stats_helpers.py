"""Helpers for statistics tests: call an endpoint, read its rows and cells as plain counts."""

STATS = "/api/v1/stats/"


def get(client, path: str = "", **params) -> dict:
    """The JSON of a statistics endpoint (`path` under /api/v1/stats/), which must answer 200."""
    response = client.get(STATS + path, params)
    assert response.status_code == 200, response.content
    return response.json()


def rows_of(body: dict) -> dict[str, int]:
    return {row["key"]: row["cases"] for row in body["rows"]}


def cells_of(body: dict) -> dict[tuple[str, str], int]:
    """The cross-table's non-empty cells (zero and hidden ones left out)."""
    return {
        (row["key"], cell["key"]): cell["cases"]
        for row in body["rows"]
        for cell in row["cells"]
        if cell["cases"] not in (0, None)
    }


def csv_data_lines(response) -> list[str]:
    """A statistics CSV's lines after its `# …` provenance lines: the header, then the rows."""
    return [line for line in response.content.decode().splitlines() if not line.startswith("#")]
