"""The Article: one annotated article pair, loaded and resolved (see docs/architecture.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Article:
    """One article pair (``seeds/<stem>.txt`` + ``seeds/<stem>.yaml``) after loading.

    Attributes:
        article_id: The stem without its optional ``^[0-9]+_`` sequence prefix.
        stem: The file name stem of the pair.
        text: The verbatim article text (the offsets point into it).
        doc: The parsed annotation as plain dicts/lists/str; local ids; dates as
            ``YYYY-MM-DD`` strings.
        spans: ``(section, local_id)`` (e.g. ``("claims", "C3")``) to
            ``(char_start, char_end)`` in code points. The ``article`` section has no span.
    """

    article_id: str
    stem: str
    text: str
    doc: dict[str, Any]
    spans: dict[tuple[str, str], tuple[int, int]]
