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


def invoke(*args: str) -> Any:
    """Run the CLI; return click's result (exit code, output)."""
    from click.testing import CliRunner

    from factpack.cli import cli

    return CliRunner().invoke(cli, list(args))


def one_line_error(result: Any) -> str:
    """Assert the command failed with one line (no traceback) and return it."""
    assert result.exit_code != 0, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert "Traceback" not in result.output
    assert len(lines) == 1, result.output
    return lines[0]


def mapping_file(tmp_path: Path, text: str) -> Path:
    """Write a mapping file and return its path."""
    path = tmp_path / "mapping.yaml"
    path.write_text(text, encoding="utf-8")
    return path
