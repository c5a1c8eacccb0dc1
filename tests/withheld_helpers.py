"""Withheld releases for the site tests: a release whose ``articles.text`` is null.

:func:`withheld_seed_release` builds the seed with ``text_policy: withhold``; the helpers
below read its pages as the leak scan does.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from pathlib import Path

from leakscan import HtmlData

ROOT = Path(__file__).resolve().parents[1]


def withheld_seed_release(work: Path) -> tuple[Path, str]:
    """Build the seed's release with its text withheld under ``work``.

    Returns:
        The release folder, and the seed's text (what the release withholds).
    """
    from factpack.pipeline.release import build
    from factpack.pipeline.versions import own_schema

    (seed,) = sorted((ROOT / "seeds").glob("*.txt"))
    text = seed.read_text(encoding="utf-8")
    schema = own_schema(work / "schema", text_policy="withhold")
    release = build(ROOT / "seeds", work / "dist", work / "build", schema).release_dir
    return release, text


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


def page_readings(page: str) -> list[str]:
    """The ways a reader may see a page's text: the markup with entities resolved, and its
    character data joined without the white space between elements (a text cut by tags
    reads whole again)."""
    parser = HtmlData()
    parser.feed(page)
    parser.close()
    return [html.unescape(page), "".join(p for p in parser.parts if p.strip())]
