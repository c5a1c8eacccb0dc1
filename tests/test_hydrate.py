"""``factpack hydrate``: re-attach withheld article texts to a copy of the release (issue 18).

The copy's data files equal those of a build that includes the texts; a text whose sha256
differs is refused with one line and nothing is written; a missing text stays withheld.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from factpack.cli import cli
from factpack.researcher import hydrate as hy
from factpack.researcher import site
from factpack.shared.problems import FactpackError
from test_site import A1, A2, TEXT1, TEXT2, fixture_rows, write_release

ROOT = Path(__file__).resolve().parents[1]
FIXTURE_SEEDS = Path(__file__).resolve().parent / "fixtures" / "build" / "seeds"
NAME = "factpack-news-events-0.1.0"


# --- a small withheld release (the site tests' fixture, texts null) --------------------------


def _withheld(root: Path, *ids: str) -> Path:
    rows = fixture_rows()
    for article in rows["articles"]:
        if article["article_id"] in (ids or (A1, A2)):
            article["text"] = None
    return write_release(root / "fixture-pack-0.0.1", rows)


def _texts(root: Path, **texts: str) -> Path:
    folder = root / "texts"
    folder.mkdir()
    for name, text in texts.items():
        (folder / f"{name}.txt").write_text(text, encoding="utf-8", newline="")
    return folder


def _leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name.startswith(".") or "+text" in p.name)


def test_hydrate_fills_the_texts_and_builds_the_full_site(tmp_path: Path) -> None:
    release = _withheld(tmp_path)
    texts = _texts(tmp_path, **{A1: TEXT1, f"007_{A2}": TEXT2})  # by id, and by stem
    done = hy.hydrate(release, texts)
    assert done.path == tmp_path / "fixture-pack-0.0.1+text"
    assert (done.hydrated, done.withheld, done.ignored) == ((A1, A2), (), ())
    got = pq.read_table(done.path / "data" / "articles.parquet").to_pylist()
    assert {r["article_id"]: r["text"] for r in got} == {A1: TEXT1, A2: TEXT2}
    page = (done.path / "site" / "articles" / f"{A1}.html").read_text("utf-8")
    assert '<div class="text"' in page and "withheld" not in page
    assert (done.path / "SHA256SUMS").is_file() and (done.path / "site" / "SHA256SUMS").is_file()
    index = (done.path / "site" / "index.html").read_text("utf-8")
    assert "<strong>A hydrated copy.</strong> 2 article texts of this copy were supplied" in index
    assert "This copy has no archive." in index and ".zip" not in index
    site.build_site(release)
    assert "A hydrated copy" not in (release / "site" / "index.html").read_text("utf-8")
    policy = json.loads((done.path / "datapackage.json").read_text("utf-8"))["text_policy"]
    assert policy == {"withheld": 0, "hydrated": 2}
    # The release itself is untouched; nothing else is left beside it.
    assert pq.read_table(release / "data" / "articles.parquet").column("text").null_count == 2
    assert _leftovers(tmp_path) == ["fixture-pack-0.0.1+text"]


def test_commands_pick_the_published_release_not_the_copy_beside_it(tmp_path: Path) -> None:
    """`query`, `site` and a version lookup read dist/<name>-<version>/; the copy only if named."""
    from factpack.researcher import releases

    dist = tmp_path / "dist"
    dist.mkdir()
    release = _withheld(dist)
    copy = hy.hydrate(release, _texts(tmp_path, **{A1: TEXT1, A2: TEXT2})).path
    assert releases.read_release(copy).hydrated and not releases.read_release(release).hydrated
    assert releases.resolve_release(cwd=tmp_path).path == release
    assert releases.resolve_release("0.0.1", cwd=tmp_path).path == release
    assert releases.resolve_release(copy, cwd=tmp_path).path == copy


def test_a_changed_character_is_refused_with_one_line_and_nothing_left(tmp_path: Path) -> None:
    release = _withheld(tmp_path)
    at = TEXT1.index("Washington denies") + 3
    changed = TEXT1[:at] + "X" + TEXT1[at + 1 :]
    texts = _texts(tmp_path, **{A1: changed, A2: TEXT2})
    result = CliRunner().invoke(cli, ["hydrate", str(release), "--texts", str(texts)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    line = lines[0]
    want = hashlib.sha256(TEXT1.encode()).hexdigest()
    got = hashlib.sha256(changed.encode()).hexdigest()
    assert f"article {A1}: sha256 {got} is not the release's text_sha256 {want}" in line
    assert f"first difference at character {at} (in the evidence of {A1}:" in line
    assert "Traceback" not in result.output
    assert _leftovers(tmp_path) == []


def test_a_text_of_another_length_says_so(tmp_path: Path) -> None:
    release = _withheld(tmp_path, A2)
    texts = _texts(tmp_path, **{A2: TEXT2 + "\n"})
    with pytest.raises(FactpackError, match=r"it has 53 characters, the published text 52\)"):
        hy.hydrate(release, texts)
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("data", "how"),
    [
        (b"\xef\xbb\xbf" + TEXT2.encode(), "a byte-order mark"),
        (TEXT2.replace("\n", "\r\n").encode(), "CRLF line ends"),
        (b"\xef\xbb\xbf" + TEXT2.replace("\n", "\r\n").encode(), "a byte-order mark and CRLF"),
    ],
)
def test_a_text_saved_with_a_bom_or_crlf_is_refused_with_the_fix(
    tmp_path: Path, data: bytes, how: str
) -> None:
    release = _withheld(tmp_path, A2)
    texts = _texts(tmp_path)
    (texts / f"{A2}.txt").write_bytes(data)
    with pytest.raises(FactpackError, match=f"the published one saved with {how}") as caught:
        hy.hydrate(release, texts)
    assert "LF line ends" in str(caught.value) and "\n" not in str(caught.value)
    assert _leftovers(tmp_path) == []


def test_a_missing_text_stays_withheld_and_is_named(tmp_path: Path) -> None:
    release = _withheld(tmp_path)
    texts = _texts(tmp_path, **{A1: TEXT1, "unrelated": "x"})
    result = CliRunner().invoke(cli, ["hydrate", str(release), "--texts", str(texts)])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0].startswith("hydrated 1 of 2 articles: wrote ")
    assert lines[1] == f"1 article stay withheld (no text in {texts}): {A2}"
    assert lines[2] == "ignored 1 file naming no withheld article: unrelated.txt"
    copy = tmp_path / "fixture-pack-0.0.1+text"
    policy = json.loads((copy / "datapackage.json").read_text("utf-8"))["text_policy"]
    assert policy == {"withheld": 1, "hydrated": 1}
    page = (copy / "site" / "articles" / f"{A2}.html").read_text("utf-8")
    assert "Evidence quotes (article text withheld)" in page


def test_require_all_refuses_a_missing_text(tmp_path: Path) -> None:
    release = _withheld(tmp_path)
    texts = _texts(tmp_path, **{A1: TEXT1})
    with pytest.raises(FactpackError, match=rf"no text of 1 withheld article \({A2}\)"):
        hy.hydrate(release, texts, require_all=True)
    assert _leftovers(tmp_path) == []


def test_no_text_at_all_is_refused(tmp_path: Path) -> None:
    release = _withheld(tmp_path)
    texts = _texts(tmp_path, other="x")
    with pytest.raises(FactpackError, match="no text of the 2 withheld articles"):
        hy.hydrate(release, texts)


def test_a_release_with_every_text_has_nothing_to_hydrate(tmp_path: Path) -> None:
    release = write_release(tmp_path / "fixture-pack-0.0.1")
    with pytest.raises(FactpackError, match="nothing to hydrate"):
        hy.hydrate(release, _texts(tmp_path, **{A1: TEXT1}))


def test_two_different_files_for_one_article_are_refused(tmp_path: Path) -> None:
    release = _withheld(tmp_path)
    texts = _texts(tmp_path, **{A1: TEXT1, f"1_{A1}": TEXT1 + "x"})
    with pytest.raises(FactpackError, match=f"article {A1} has two different texts"):
        hy.hydrate(release, texts)


def test_hydrating_again_replaces_the_copy_but_never_another_folder(tmp_path: Path) -> None:
    release = _withheld(tmp_path)
    hy.hydrate(release, _texts(tmp_path, **{A1: TEXT1}))
    (tmp_path / "texts" / f"{A2}.txt").write_text(TEXT2, encoding="utf-8")
    done = hy.hydrate(release, tmp_path / "texts")
    assert done.withheld == ()
    assert _leftovers(tmp_path) == ["fixture-pack-0.0.1+text"]
    with pytest.raises(FactpackError, match=r"is a hydrated copy; hydrate the release itself"):
        hy.hydrate(done.path, tmp_path / "texts")
    shutil.rmtree(done.path)
    done.path.mkdir()
    (done.path / "mine.txt").write_text("keep", encoding="utf-8")
    with pytest.raises(FactpackError, match="exists and is not a hydrated copy"):
        hy.hydrate(release, tmp_path / "texts")
    assert (done.path / "mine.txt").read_text(encoding="utf-8") == "keep"


def test_difference_names_the_first_character_a_quote_shows() -> None:
    quotes = [(0, 5, "Hello", "a:S1"), (6, 11, "world", "a:C1"), (8, 11, "rld", "a:E1")]
    assert hy.difference("Hello world", 11, quotes) == ""
    assert hy.difference("Hello wOrld", 11, quotes) == (
        "first difference at character 7 (in the evidence of a:C1)"
    )
    assert hy.difference("Hello", 11, quotes) == (
        "it has 5 characters, the published text 11; "
        "first difference at character 6 (in the evidence of a:C1)"
    )
    assert hy.difference(None, 11, quotes) == "it is not UTF-8"


def test_hydrate_module_does_not_import_the_build_side() -> None:
    code = (
        "import sys, factpack.researcher.hydrate as h\n"
        "import factpack.shared.write\n"
        "print(sorted(m for m in sys.modules if m.startswith('factpack.pipeline')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- real builds: include and withhold of the same fixture seeds -----------------------------


def _build(root: Path, policy: str) -> Path:
    from factpack.pipeline import release
    from factpack.pipeline.versions import own_schema

    schema = own_schema(root / "schema", text_policy=policy)
    shutil.copytree(FIXTURE_SEEDS, root / "seeds")
    result = release.build(
        root / "seeds", root / "dist", root / "build", schema, partition_by_year=True
    )
    return result.release_dir


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The fixture seeds built with ``include`` and with ``withhold`` (partitioned copies too),
    and the withheld one hydrated with the seeds' own texts (named by stem)."""
    out = {p: _build(tmp_path_factory.mktemp(p), p) for p in ("include", "withhold")}
    texts = tmp_path_factory.mktemp("texts")
    for path in FIXTURE_SEEDS.glob("*.txt"):
        shutil.copy(path, texts / path.name)
    out["hydrated"] = hy.hydrate(out["withhold"], texts).path
    out["texts"] = texts
    return out


def _data_files(release: Path) -> dict[str, bytes]:
    return {
        p.relative_to(release).as_posix(): p.read_bytes()
        for p in sorted((release / "data").rglob("*"))
        if p.is_file()
    }


def test_hydrated_data_files_are_byte_identical_to_an_include_build(builds: Any) -> None:
    include, withheld, hydrated = builds["include"], builds["withhold"], builds["hydrated"]
    assert hydrated.name == f"{NAME}+text" and hydrated.parent == withheld.parent
    got, want = _data_files(hydrated), _data_files(include)
    assert any(name.startswith("data/partitioned/articles/") for name in want)
    assert sorted(got) == sorted(want)
    assert [n for n in want if got[n] != want[n]] == []
    assert _data_files(withheld)["data/articles.parquet"] != want["data/articles.parquet"]


def test_the_hydrated_copy_is_a_valid_release(builds: Any) -> None:
    from factpack.pipeline.checks import check_release

    hydrated = builds["hydrated"]
    assert check_release(hydrated) == []
    assert not list(hydrated.parent.glob("*+text.zip"))
    descriptor = json.loads((hydrated / "datapackage.json").read_text("utf-8"))
    assert descriptor["text_policy"]["withheld"] == 0
    assert descriptor["text_policy"]["hydrated"] == 2
    card = (hydrated / "README.md").read_text("utf-8")
    assert "This copy holds article texts the user supplied" in card


def test_the_hydrated_duckdb_is_byte_identical_to_an_include_build(builds: Any) -> None:
    """Hydrate writes the .duckdb as the build does (the shared writer, the schema read back
    from the release's datapackage.json), not by an UPDATE of the release's file."""
    (want,) = builds["include"].glob("*.duckdb")
    (got,) = builds["hydrated"].glob("*.duckdb")
    assert got.name == want.name
    assert got.read_bytes() == want.read_bytes()


def test_a_release_descriptor_gives_back_the_build_schema(builds: Any) -> None:
    """The schema hydrate writes the .duckdb with: read back from datapackage.json, it gives the
    build's table schemas and DDL (both policies: the DDL does not depend on it)."""
    from factpack.shared.schema import (
        duckdb_ddl,
        load_schema,
        schema_from_descriptor,
        table_schema_descriptor,
    )

    want = load_schema()
    for policy in ("include", "withhold"):
        path = builds[policy] / "datapackage.json"
        descriptor = json.loads(path.read_text("utf-8"))
        got = schema_from_descriptor(descriptor, path)
        assert list(got.tables) == list(want.tables)
        parquet = {
            r["name"]: r["schema"] for r in descriptor["resources"] if r["format"] == "parquet"
        }
        for name, table in got.tables.items():
            published = {k: v for k, v in parquet[name].items() if k != "missingValues"}
            assert table_schema_descriptor(table) == published
            assert table_schema_descriptor(table) == table_schema_descriptor(want.table(name))
            assert duckdb_ddl(table) == duckdb_ddl(want.table(name))


def test_a_descriptor_that_cannot_be_read_back_is_one_line(builds: Any, tmp_path: Path) -> None:
    release = Path(shutil.copytree(builds["withhold"], tmp_path / NAME))
    texts = Path(shutil.copytree(builds["texts"], tmp_path / "texts"))
    path = release / "datapackage.json"
    descriptor = json.loads(path.read_text("utf-8"))
    del descriptor["resources"][0]["schema"]["fields"][0]["type"]
    path.write_text(json.dumps(descriptor), encoding="utf-8")
    result = CliRunner().invoke(cli, ["hydrate", str(release), "--texts", str(texts)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    assert "datapackage.json: resource 'articles': cannot read its table schema back" in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == [NAME, "texts"]


def test_the_hydrated_duckdb_holds_the_texts(builds: Any) -> None:
    import duckdb

    (db,) = builds["hydrated"].glob("*.duckdb")
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("SELECT text, text_sha256 FROM articles").fetchall()
    assert rows and all(hashlib.sha256(t.encode()).hexdigest() == h for t, h in rows)


def test_the_hydrated_site_shows_the_full_highlighted_texts(builds: Any) -> None:
    hydrated = builds["hydrated"]
    for row in pq.read_table(hydrated / "data" / "articles.parquet").to_pylist():
        page = (hydrated / "site" / "articles" / f"{row['article_id']}.html").read_text("utf-8")
        assert '<div class="text"' in page and "article text withheld" not in page


def test_a_changed_character_in_a_real_release_leaves_nothing(builds: Any, tmp_path: Path) -> None:
    release = Path(shutil.copytree(builds["withhold"], tmp_path / NAME))
    texts = Path(shutil.copytree(builds["texts"], tmp_path / "texts"))
    path = next(iter(sorted(texts.glob("*.txt"))))
    text = path.read_text(encoding="utf-8")
    at = text.index(" ", 40)
    path.write_text(text[:at] + "_" + text[at + 1 :], encoding="utf-8", newline="")
    result = CliRunner().invoke(cli, ["hydrate", str(release), "--texts", str(texts)])
    assert result.exit_code == 1
    assert len(result.output.strip().splitlines()) == 1
    assert "is not the release's text_sha256" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [NAME, "texts"]


def test_hydrate_and_the_build_call_the_writer_with_the_same_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both leave every DuckDB setting (threads, memory, chunks, row groups) to the shared
    writer's defaults, so they cannot drift apart."""
    from factpack.pipeline import write as build_write
    from factpack.shared import write as shared_write

    real = shared_write.write_duckdb
    calls: list[tuple[str, dict[str, Any]]] = []

    def spy(side: str) -> Any:
        def write_duckdb(tables: Any, schema: Any, path: Path, **settings: Any) -> None:
            calls.append((side, settings))
            real(tables, schema, path, **settings)

        return write_duckdb

    monkeypatch.setattr(build_write, "write_duckdb", spy("build"))
    monkeypatch.setattr(shared_write, "write_duckdb", spy("hydrate"))
    withheld = _build(tmp_path / "build", "withhold")
    texts = tmp_path / "texts"
    texts.mkdir()
    for path in FIXTURE_SEEDS.glob("*.txt"):
        shutil.copy(path, texts / path.name)
    hy.hydrate(withheld, texts)
    assert calls == [("build", {}), ("hydrate", {})]
