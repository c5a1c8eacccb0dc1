"""Helpers of the import/export tests: the rows an annotation gives, a mapping from text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from factpack.pipeline.annotations import load_article
from factpack.pipeline.tables import article_rows
from factpack.shared.schema import load_schema

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "seeds" / "000_a4c96cb10ee97359.yaml"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "formats"


def rows(yaml_path: Path) -> dict[str, list[dict[str, Any]]]:
    """The table rows of one annotation (it must pass the checker)."""
    article, problems = load_article(yaml_path)
    assert not problems, [p.format() for p in problems]
    assert article is not None
    return article_rows(article, load_schema())
