"""Withheld releases for the site tests: a release whose ``articles.text`` is null.

:func:`withheld_seed_release` builds the seed with ``text_policy: withhold`` when the build
has the policy (issue 18, build side); before it landed, it nulls ``articles.text`` in a
built release (:func:`withhold_texts`), which is what the policy publishes: every other column
stays as it is.
"""

from __future__ import annotations

import html
import shutil
from collections.abc import Collection, Iterable
from html.parser import HTMLParser
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]


def withheld_seed_release(work: Path) -> tuple[Path, str]:
    """Build the seed's release with its text withheld under ``work``.

    Returns:
        The release folder, and the seed's text (what the release withholds).
    """
    from factpack.pipeline.release import build
    from factpack.shared import schema as sch

    (seed,) = sorted((ROOT / "seeds").glob("*.txt"))
    text = seed.read_text(encoding="utf-8")
    if not hasattr(sch, "DEFAULT_TEXT_POLICY"):  # the build cannot withhold yet
        release = build(ROOT / "seeds", work / "dist", work / "build").release_dir
        withhold_texts(release)
        return release, text
    schema = work / "schema"
    shutil.copytree(ROOT / "schema", schema)
    package = schema / "package.yaml"
    lines = [
        line
        for line in package.read_text(encoding="utf-8").splitlines()
        if not line.startswith("text_policy:")
    ]
    package.write_text("\n".join([*lines, "text_policy: withhold"]) + "\n", encoding="utf-8")
    release = build(ROOT / "seeds", work / "dist", work / "build", schema).release_dir
    return release, text


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
