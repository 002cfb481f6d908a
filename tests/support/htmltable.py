"""Tables of an HTML page read back as text, for tests of the pages the project
writes."""

from __future__ import annotations

from html.parser import HTMLParser


def html_rows(page: str, table_id: str) -> list[list[str]]:
    """The header and the rows of the table ``table_id`` of an HTML page."""

    class Reader(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.inside = False
            self.rows: list[list[str]] = []
            self.cell: list[str] | None = None

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "table":
                self.inside = dict(attrs).get("id") == table_id
            elif self.inside and tag == "tr":
                self.rows.append([])
            elif self.inside and tag in ("td", "th"):
                self.cell = []

        def handle_endtag(self, tag: str) -> None:
            if tag == "table":
                self.inside = False
            elif self.inside and tag in ("td", "th") and self.cell is not None:
                self.rows[-1].append("".join(self.cell))
                self.cell = None

        def handle_data(self, data: str) -> None:
            if self.cell is not None:
                self.cell.append(data)

    reader = Reader()
    reader.feed(page)
    return reader.rows
