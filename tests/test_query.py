"""factpack query, factpack.connect()/load(), and the runnable examples in docstrings and docs."""

from __future__ import annotations

import doctest
import json
import re
from pathlib import Path

import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import factpack
from factpack.cli import cli
from factpack.researcher import api, query, releases
from factpack.shared.problems import FactpackError
from releasefixture import NAME, rows, write_release

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with one fixture release in dist/ and an empty download cache."""
    write_release(tmp_path / "dist")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FACTPACK_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_query_prints_an_aligned_table(project: Path) -> None:
    code, out, _ = invoke(
        "query", "select source_kind, count(*) as n from sources group by 1 order by 1"
    )
    assert code == 0
    assert out.splitlines() == [
        "source_kind  n",
        "-----------  -",
        "government   1",
        "person       1",
        "(2 rows)",
    ]


def test_every_table_is_a_view(project: Path) -> None:
    con = factpack.connect()
    counts = {
        t: con.sql(f"select count(*) from {t}").fetchall()[0][0]
        for t in ("articles", "sources", "events", "claims")
    }
    assert counts == {"articles": 1, "sources": 2, "events": 1, "claims": 2}


def test_default_is_the_newest_release_in_dist(project: Path) -> None:
    newer = rows(articles=[{"article_id": "a1"}, {"article_id": "a2"}])
    write_release(project / "dist", newer, version="0.10.0")
    write_release(project / "dist", version="0.9.0")
    assert releases.resolve_release().version == "0.10.0"
    code, out, _ = invoke("query", "select count(*) as n from articles", "--format", "csv")
    assert (code, out) == (0, '"n"\n2\n')


def test_release_by_version_and_by_path(project: Path) -> None:
    write_release(project / "dist", rows(claims=[]), version="0.2.0")
    code, out, _ = invoke("query", "--release", "0.1.0", "select count(*) as n from claims")
    assert code == 0 and "2" in out.splitlines()[2]
    path = str(project / "dist" / f"{NAME}-0.2.0")
    assert api.load("claims", release=path).num_rows == 0
    assert api.load("claims", release=f"{NAME}-0.1.0").num_rows == 2


def test_falls_back_to_the_download_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FACTPACK_CACHE_DIR", str(tmp_path / "cache"))
    write_release(tmp_path / "cache" / "releases", version="0.3.0")
    assert releases.resolve_release().version == "0.3.0"


def test_no_release_is_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FACTPACK_CACHE_DIR", str(tmp_path / "cache"))
    code, out, err = invoke("query", "select 1")
    assert code == 1
    assert "no release" in err and "factpack download" in err
    assert "Traceback" not in err + out
    code, _, err = invoke("query", "--release", "9.9.9", "select 1")
    assert code == 1 and "no release '9.9.9'" in err


def test_sql_error_shows_duckdbs_message(project: Path) -> None:
    code, out, err = invoke("query", "select nope from claims")
    assert code == 1
    assert "Binder Error" in err and "nope" in err
    assert "Traceback" not in err + out
    code, _, err = invoke("query", "selec 1")
    assert code == 1 and "Parser Error" in err


@pytest.mark.parametrize("fmt", ["csv", "json", "markdown"])
def test_formats(project: Path, fmt: str) -> None:
    sql = "select claim_id, event_id from claims order by 1"
    code, out, _ = invoke("query", "--format", fmt, sql)
    assert code == 0
    expected = {
        "csv": '"claim_id","event_id"\n"a1:C1","a1:E1"\n"a1:C2",\n',
        "json": json.dumps(
            [{"claim_id": "a1:C1", "event_id": "a1:E1"}, {"claim_id": "a1:C2", "event_id": None}]
        ),
        "markdown": "| claim_id | event_id |\n| --- | --- |\n| a1:C1 | a1:E1 |\n| a1:C2 |  |\n",
    }[fmt]
    if fmt == "json":
        assert json.loads(out) == json.loads(expected)
    else:
        assert out == expected


def test_output_to_parquet_and_csv(project: Path) -> None:
    sql = "select * from sources order by source_id"
    assert invoke("query", sql, "--output", "out.parquet")[0] == 0
    assert pq.read_table("out.parquet").column("name").to_pylist() == ["Kremlin", "Witness"]
    assert invoke("query", sql, "--output", "out.csv")[0] == 0
    assert pcsv.read_csv("out.csv").num_rows == 2
    code, _, err = invoke("query", sql, "--output", "out.txt")
    assert code == 2 and ".parquet or .csv" in err
    assert not Path("out.txt").exists()


def test_load_returns_arrow_and_pandas(project: Path) -> None:
    claims = factpack.load("claims")
    assert claims.column_names == ["claim_id", "source_id", "event_id", "claim_text"]
    assert claims.to_pandas().shape == (2, 4)
    with pytest.raises(FactpackError, match="no table 'nope'"):
        factpack.load("nope")


def test_import_factpack_is_lazy() -> None:
    import subprocess
    import sys

    code = "import sys, factpack; print('duckdb' in sys.modules, 'pyarrow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_researcher_side_never_imports_the_build() -> None:
    import subprocess
    import sys

    code = (
        "import sys, pkgutil, importlib, factpack.researcher as r\n"
        "for m in pkgutil.iter_modules(r.__path__):\n"
        "    importlib.import_module(r.__name__ + '.' + m.name)\n"
        "print(sorted(m for m in sys.modules if m.startswith('factpack.pipeline')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("module", [api, query, releases])
def test_docstring_examples(project: Path, module: object) -> None:
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)  # type: ignore[arg-type]
    assert result.attempted > 0
    assert result.failed == 0


def python_blocks(markdown: str, heading: str | None = None) -> list[str]:
    """Return the ```python blocks of ``markdown`` (only under ``heading`` when given)."""
    if heading is not None:
        match = re.search(rf"^(#+) {re.escape(heading)}\s*$", markdown, re.M)
        if match is None:
            return []
        level = len(match.group(1))
        rest = markdown[match.end() :]
        end = re.search(rf"^#{{1,{level}}} ", rest, re.M)
        markdown = rest[: end.start()] if end else rest
    return re.findall(r"^```python[^\n]*\n(.*?)^```", markdown, re.M | re.S)


@pytest.mark.parametrize(
    ("doc", "heading"), [("docs/querying.md", None), ("README.md", "Query the data")]
)
def test_documentation_examples_run(project: Path, doc: str, heading: str | None) -> None:
    blocks = python_blocks((ROOT / doc).read_text(encoding="utf-8"), heading)
    assert blocks
    for block in blocks:
        exec(compile(block, doc, "exec"), {})
