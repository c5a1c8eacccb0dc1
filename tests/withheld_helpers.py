"""Withheld releases for the site tests: a release whose ``articles.text`` is null.

Until the build can withhold texts itself (issue 18, ``text_policy: withhold``), a withheld
release is made from a built one by nulling ``articles.text`` in a copy, which is what the
build's policy publishes: every other column stays as it is.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
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
    """Return the ``size``-character stretches of ``text`` (whitespace runs counted as one
    space, the stretch's own leading and trailing space dropped: a page may put a space
    next to a quote) that some file holds though no single quote contains them."""
    norm = lambda s: re.sub(r"\s+", " ", s)  # noqa: E731
    quoted = [norm(q) for q in quotes]
    flat = norm(text)
    held = [norm(f) for f in files]
    found = []
    for start in range(0, max(0, len(flat) - size + 1)):
        piece = flat[start : start + size].strip()
        if any(piece in q for q in quoted):
            continue
        if any(piece in f for f in held):
            found.append(piece)
    return found
