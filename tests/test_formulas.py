"""CSV cells a spreadsheet would run as a formula are found (and kept verbatim)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pytest

from factpack.pipeline.formulas import describe, formula_cells


def test_formula_cells_found_in_string_columns_only() -> None:
    tables = {
        "claims": pa.table(
            {
                "claim_id": ["a:C1", "a:C2", "a:C3", "a:C4", "a:C5"],
                "claim_text": ['=HYPERLINK("http://x")', "fine", "-30 dead", None, " =not"],
                "char_start": [1, 2, 3, 4, 5],
                "cue": ["\tsaid", "@SUM(A1)", "+", "\rx", "said"],
            }
        ),
        "articles": pa.table({"article_id": ["a"], "title": ["Plain"]}),
    }
    assert formula_cells(tables) == [
        ("claims", "a:C1", "claim_text", '=HYPERLINK("http://x")'),
        ("claims", "a:C3", "claim_text", "-30 dead"),
        ("claims", "a:C1", "cue", "\tsaid"),
        ("claims", "a:C2", "cue", "@SUM(A1)"),
        ("claims", "a:C3", "cue", "+"),
        ("claims", "a:C4", "cue", "\rx"),
    ]


def test_describe_is_one_line_per_cell_and_capped() -> None:
    cells = [("claims", f"a:C{i}", "claim_text", "=1+1\nsecond line") for i in range(25)]
    lines = describe(cells, limit=3)
    assert lines[0] == (
        "claims.csv: claim_text of a:C0 starts with '=' ('=1+1 second line'); "
        "kept verbatim, a spreadsheet may run it as a formula"
    )
    assert lines[-1] == "... and 22 more cells that start like a formula"
    assert all("\n" not in line for line in lines)


def test_empty_tables() -> None:
    assert formula_cells({"x": pa.table({"id": pa.array([], pa.string())})}) == []


def test_build_keeps_formula_cells_verbatim_reports_and_warns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from factpack.pipeline import release

    seeds = tmp_path / "seeds"
    shutil.copytree(Path(__file__).parent / "fixtures" / "build" / "seeds", seeds)
    path = seeds / "001_alpha.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace(
        "claim_text: any attack took place", 'claim_text: \'=HYPERLINK("http://x","y")\''
    )
    path.write_text(text.replace("summary: A drone", "summary: -A drone", 1), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = release.build(seeds, tmp_path / "dist", tmp_path / "build", jobs=1)
    formula_lines = [w for w in result.warnings if "spreadsheet may run it" in w]
    assert len(formula_lines) == 2
    assert formula_lines[0].startswith("claims.csv: claim_text of alpha:C2 starts with '='")
    assert formula_lines[1].startswith("events.csv: summary of alpha:E1 starts with '-'")
    card = (result.release_dir / "README.md").read_text(encoding="utf-8")
    assert "**Spreadsheet warning:** 2 CSV cells start with" in card
    assert "`claims.claim_text` (1), `events.summary` (1)" in card
    csv_text = (result.release_dir / "data" / "claims.csv").read_text(encoding="utf-8")
    assert '"=HYPERLINK(""http://x"",""y"")"' in csv_text  # verbatim, CSV-quoted only
