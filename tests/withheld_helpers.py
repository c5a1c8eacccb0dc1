"""Withheld releases for the site tests: a release whose ``articles.text`` is null.

Until the build can withhold texts itself (issue 18, ``text_policy: withhold``), a withheld
release is made from a built one by nulling ``articles.text`` in a copy, which is what the
build's policy publishes: every other column stays as it is.
"""

from __future__ import annotations

import html
from collections.abc import Collection, Iterable
from html.parser import HTMLParser
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq


def withhold_texts(release: Path, article_ids: Collection[str] | None = None) -> None:
    """Null ``articles.text`` of ``article_ids`` (all when None) in ``release``'s Parquet."""
    path = release / "data" / "articles.parquet"
    table = pq.read_table(path)
    ids = table.column("article_id")
    at = table.schema.get_field_index("text")
    hit = (
        pc.is_valid(ids)
        if article_ids is None
        else pc.is_in(ids, value_set=pa.array(sorted(article_ids), pa.string()))
    )
    text = pc.if_else(hit, pa.scalar(None, pa.string()), table.column("text"))
    field = table.schema.field(at).with_nullable(True)
    pq.write_table(table.set_column(at, field, text), path)


def leaked_stretches(
    text: str, quotes: Iterable[str], files: Iterable[str], size: int = 50
) -> list[str]:
    """Return the ``size``-character stretches of ``text`` that some file holds though no
    single quote contains them."""
    quoted = list(quotes)
    held = list(files)
    found = []
    for start in range(0, max(0, len(text) - size + 1)):
        piece = text[start : start + size]
        if any(piece in q for q in quoted):
            continue
        if any(piece in f for f in held):
            found.append(piece)
    return found


class _Data(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def page_readings(page: str) -> list[str]:
    """The ways a reader may see a page's text: the markup with entities resolved, and its
    character data joined without the white space between elements (a text cut by tags
    reads whole again)."""
    parser = _Data()
    parser.feed(page)
    parser.close()
    return [html.unescape(page), "".join(p for p in parser.parts if p.strip())]
