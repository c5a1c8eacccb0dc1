"""Issue 18, build side: the text policy (``include`` | ``withhold``) of a corpus and an article.

A withheld text leaves the release: ``articles.text`` is null, and no file of the release holds
a stretch of it that no evidence quote contains.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from factpack.pipeline.annotations import load_article
from factpack.shared import schema as sch

ROOT = Path(__file__).resolve().parents[1]
REPO_SCHEMA = ROOT / "schema"
FIXTURE_SEEDS = Path(__file__).resolve().parent / "fixtures" / "build" / "seeds"


def schema_dir(tmp_path: Path, policy: str | None) -> Path:
    """A copy of the repository's schema/ whose package.yaml sets ``policy`` (None: no key)."""
    root = tmp_path / "schema"
    shutil.copytree(REPO_SCHEMA, root)
    package = root / "package.yaml"
    lines = [
        line
        for line in package.read_text(encoding="utf-8").splitlines()
        if not line.startswith("text_policy:")
    ]
    if policy is not None:
        lines.append(f"text_policy: {policy}")
    package.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def copy_seeds(source: Path, dest: Path) -> Path:
    """Copy a seeds folder without the articles' own ``text_policy`` lines, so that
    schema/package.yaml decides."""
    shutil.copytree(source, dest)
    for path in dest.rglob("*.yaml"):
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        kept = [line for line in lines if not line.lstrip().startswith("text_policy:")]
        path.write_text("".join(kept), encoding="utf-8")
    return dest


def seeds_with_override(tmp_path: Path, stem: str, policy: str) -> Path:
    """A copy of the fixture seeds in which article ``stem`` (alone) sets
    ``text_policy: policy``."""
    seeds = copy_seeds(FIXTURE_SEEDS, tmp_path / "seeds")
    path = seeds / f"{stem}.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("article:\n", f"article:\n  text_policy: {policy}\n", 1), "utf-8")
    return seeds


# --------------------------------------------------------------------------- 1. the setting


def test_the_code_default_is_include(tmp_path: Path) -> None:
    assert sch.DEFAULT_TEXT_POLICY == "include"
    assert sch.load_schema(schema_dir(tmp_path, None)).text_policy == "include"


@pytest.mark.parametrize("policy", ["include", "withhold"])
def test_package_yaml_sets_the_policy(tmp_path: Path, policy: str) -> None:
    assert sch.load_schema(schema_dir(tmp_path, policy)).text_policy == policy


@pytest.mark.parametrize("bad", ["withold", "none", "true", "[withhold]"])
def test_an_unknown_package_policy_fails_with_line_and_fix(tmp_path: Path, bad: str) -> None:
    root = schema_dir(tmp_path, bad)
    line = len((root / "package.yaml").read_text(encoding="utf-8").splitlines())
    with pytest.raises(sch.SchemaFileError) as info:
        sch.load_schema(root)
    message = str(info.value)
    assert "\n" not in message
    assert f"package.yaml:{line}:14: text_policy" in message, message
    assert "write `text_policy: include`" in message and "`text_policy: withhold`" in message


def test_the_annotation_schema_offers_the_override() -> None:
    js = sch.annotation_json_schema(sch.load_schema(REPO_SCHEMA))
    prop = js["$defs"]["article"]["properties"]["text_policy"]
    assert prop["enum"] == ["include", "withhold", None]
    assert "text_policy" not in js["$defs"]["article"]["required"]


@pytest.mark.parametrize("policy", ["include", "withhold"])
def test_an_article_may_override_the_policy(tmp_path: Path, policy: str) -> None:
    seeds = seeds_with_override(tmp_path, "001_alpha", policy)
    article, problems = load_article(seeds / "001_alpha.yaml")
    assert problems == []
    assert article is not None
    assert article.doc["article"]["text_policy"] == policy


def test_a_bad_override_fails_with_line_and_fix(tmp_path: Path) -> None:
    seeds = seeds_with_override(tmp_path, "001_alpha", "hold")
    article, problems = load_article(seeds / "001_alpha.yaml")
    assert article is None
    assert [p.format().split("/")[-1] for p in problems] == [
        "001_alpha.yaml:4:16: article.text_policy: 'hold' is not a valid value; did you mean "
        "'withhold'? valid: include, withhold"
    ]


# --------------------------------------------------------------------------- 2. the tables


def _articles(default: str, overrides: dict[str, str | None]) -> tuple[object, ...]:
    import pyarrow as pa

    from factpack.pipeline.tables import POLICY_COLUMN, apply_text_policy

    ids = ["alpha", "beta", "gamma"]
    table = pa.table(
        {
            "article_id": ids,
            "text": ["A\nalpha text", "B\nbeta text", "C\ngamma text"],
            "char_count": [11, 10, 11],
            POLICY_COLUMN: pa.array([overrides.get(i) for i in ids], pa.string()),
        }
    )
    full, published, count = apply_text_policy(table, default)
    return full, published, count


@pytest.mark.parametrize(
    ("default", "overrides", "texts"),
    [
        ("include", {}, ["A\nalpha text", "B\nbeta text", "C\ngamma text"]),
        ("withhold", {}, [None, None, None]),
        ("include", {"beta": "withhold"}, ["A\nalpha text", None, "C\ngamma text"]),
        ("withhold", {"gamma": "include"}, [None, None, "C\ngamma text"]),
        ("withhold", {"alpha": "withhold", "beta": "include"}, [None, "B\nbeta text", None]),
    ],
)
def test_the_article_policy_overrides_the_package_one(
    default: str, overrides: dict[str, str | None], texts: list[str | None]
) -> None:
    from factpack.pipeline.tables import POLICY_COLUMN

    full, published, count = _articles(default, overrides)
    assert full.column("text").to_pylist() == [  # type: ignore[attr-defined]
        "A\nalpha text",
        "B\nbeta text",
        "C\ngamma text",
    ]
    assert published.column("text").to_pylist() == texts  # type: ignore[attr-defined]
    assert count == texts.count(None)
    for table in (full, published):
        assert POLICY_COLUMN not in table.column_names  # type: ignore[attr-defined]
        assert table.column("char_count").to_pylist() == [11, 10, 11]  # type: ignore[attr-defined]


def _fixture_tables() -> tuple[dict[str, object], sch.Schema]:
    from factpack.pipeline.tables import article_rows, assemble

    schema = sch.load_schema(REPO_SCHEMA)
    rows = []
    for path in sorted(FIXTURE_SEEDS.glob("*.yaml")):
        article, problems = load_article(path)
        assert article is not None, problems
        rows.append(article_rows(article, schema))
    return dict(assemble(rows, schema)), schema


def _set(tables: dict[str, object], column: str, values: list[object]) -> dict[str, object]:
    import pyarrow as pa

    arts: pa.Table = tables["articles"]  # type: ignore[assignment]
    at = arts.schema.get_field_index(column)
    array = pa.array(values, arts.schema.field(at).type)
    return {**tables, "articles": arts.set_column(at, arts.schema.field(at), array)}


def test_layer3_checks_the_text_against_its_sha256() -> None:
    from factpack.pipeline.checks import cross_checks

    tables, schema = _fixture_tables()
    assert cross_checks(tables, schema) == []  # type: ignore[arg-type]
    texts = tables["articles"].column("text").to_pylist()  # type: ignore[attr-defined]
    changed = _set(tables, "text", [texts[0].replace("drone", "drove", 1), texts[1]])
    failures = cross_checks(changed, schema)  # type: ignore[arg-type]
    assert ("articles", "text", "alpha") in {(f.table, f.column, f.key) for f in failures}
    assert any(f.check == "text IS NULL OR sha256(text) = text_sha256" for f in failures)


def test_layer3_passes_a_withheld_text_and_checks_its_offsets_against_char_count() -> None:
    import pyarrow as pa

    from factpack.pipeline.checks import cross_checks

    tables, schema = _fixture_tables()
    withheld = _set(tables, "text", [None, None])
    assert cross_checks(withheld, schema) == []  # type: ignore[arg-type]
    claims: pa.Table = withheld["claims"]  # type: ignore[assignment]
    ends = claims.column("char_end").to_pylist()
    at = claims.schema.get_field_index("char_end")
    moved = claims.set_column(at, claims.schema.field(at), pa.array([*ends[:-1], 10_000]))
    failures = cross_checks({**withheld, "claims": moved}, schema)  # type: ignore[arg-type]
    assert [(f.table, f.column, f.key) for f in failures] == [("claims", "char_end", "beta:C2")]
    assert "char_end <= articles.char_count" in failures[0].check


def test_layer3_checks_char_count_against_the_text() -> None:
    from factpack.pipeline.checks import cross_checks

    tables, schema = _fixture_tables()
    counts = tables["articles"].column("char_count").to_pylist()  # type: ignore[attr-defined]
    failures = cross_checks(_set(tables, "char_count", [counts[0] + 1, counts[1]]), schema)  # type: ignore[arg-type]
    assert [(f.table, f.column, f.key) for f in failures] == [("articles", "char_count", "alpha")]


# --------------------------------------------------------------------------- 3. the release

NAME = "factpack-news-events-0.1.0"
TABLES = ("articles", "sources", "events", "claims")


def build_with(root: Path, policy: str, seeds: Path = FIXTURE_SEEDS) -> Path:
    """Build ``seeds`` (without their articles' own policies) under ``root`` with the
    repository's schema/ set to ``policy``; return the release directory."""
    from factpack.pipeline import release

    copy_seeds(seeds, root / "seeds")
    schema = schema_dir(root, policy)
    result = release.build(root / "seeds", root / "dist", root / "build", schema)
    return result.release_dir


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The fixture seeds built with ``include``, with ``withhold``, and with ``withhold``
    again elsewhere."""
    return {
        name: build_with(tmp_path_factory.mktemp(name), policy)
        for name, policy in (
            ("include", "include"),
            ("withhold", "withhold"),
            ("withhold-again", "withhold"),
        )
    }


def _read(path: Path) -> list[tuple[object, ...]]:
    import duckdb

    with duckdb.connect() as con:
        return con.execute(f"SELECT * FROM '{path}' ORDER BY 1").fetchall()


def test_a_withheld_release_has_null_texts_and_every_other_value(
    releases: dict[str, Path],
) -> None:
    import duckdb

    full, withheld = releases["include"], releases["withhold"]
    for table in TABLES:
        for suffix in ("parquet", "csv"):
            got = _read(withheld / "data" / f"{table}.{suffix}")
            want = _read(full / "data" / f"{table}.{suffix}")
            if table == "articles":
                at = [f.name for f in sch.load_schema(REPO_SCHEMA).table("articles").fields]
                i = at.index("text")
                assert [r[i] for r in got] == [None, None]
                assert all(r[i] for r in want)
                got = [r[:i] + r[i + 1 :] for r in got]
                want = [r[:i] + r[i + 1 :] for r in want]
            assert got == want, (table, suffix)
    with duckdb.connect(str(withheld / "factpack-news-events.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM articles WHERE text IS NULL").fetchone() == (2,)


def test_datapackage_records_the_policy(releases: dict[str, Path]) -> None:
    import json

    def policy(release: Path) -> object:
        return json.loads((release / "datapackage.json").read_text("utf-8"))["text_policy"]

    assert policy(releases["include"]) == {"default": "include", "withheld": 0}
    assert policy(releases["withhold"]) == {"default": "withhold", "withheld": 2}


def test_two_withhold_builds_are_byte_identical(releases: dict[str, Path]) -> None:
    def files(release: Path) -> dict[str, bytes]:
        out = {
            p.relative_to(release).as_posix(): p.read_bytes()
            for p in sorted(release.rglob("*"))
            if p.is_file() and p.suffix != ".duckdb"
        }
        out["zip"] = release.with_name(release.name + ".zip").read_bytes()
        return out

    one, two = files(releases["withhold"]), files(releases["withhold-again"])
    assert list(one) == list(two)
    assert [name for name in one if one[name] != two[name]] == []


def test_layer4_checks_the_withheld_count_and_the_published_texts(
    releases: dict[str, Path],
) -> None:
    import json

    from factpack.pipeline.checks import check_release, published_text_failures

    release = releases["withhold"]
    assert check_release(release) == []
    descriptor = json.loads((release / "datapackage.json").read_text("utf-8"))
    descriptor["text_policy"]["withheld"] = 0
    assert published_text_failures(release, descriptor) == [
        "datapackage.json: text_policy.withheld is 0 but 2 article(s) of data/articles.parquet "
        "have no text; rebuild the release"
    ]


@pytest.mark.parametrize("policy", ["include", "withhold"])
def test_preview_gives_the_published_page(
    releases: dict[str, Path], policy: str, tmp_path: Path
) -> None:
    from factpack.pipeline import preview

    release = releases[policy]
    root = release.parents[1]
    for stem, article_id in (("001_alpha", "alpha"), ("002_beta", "beta")):
        page = preview.preview(stem, root / "seeds", tmp_path / policy, root / "schema")
        published = release / "site" / "articles" / f"{article_id}.html"
        assert page.read_bytes() == published.read_bytes(), (policy, stem)


# --------------------------------------------------------------------------- 6. acceptance

SEEDS = ROOT / "seeds"


def test_a_withheld_seed_release_holds_no_stretch_of_its_text(tmp_path: Path) -> None:
    """Issue 18's 'done when': built with ``withhold``, no file of the release (Parquet and
    .duckdb values read back through DuckDB, every other file as text, the site folder too)
    and no entry of the zip holds a 50-character stretch of the seed's text, past its title
    line, that no single evidence quote contains."""
    from leakscan import database_values, forbidden, leaks

    release = build_with(tmp_path / "build", "withhold", SEEDS)
    assert (release / "site" / "index.html").is_file()
    quotes = [
        q
        for table in ("sources", "events", "claims")
        for q in database_values(release / "data" / f"{table}.parquet")
    ]
    texts = sorted(SEEDS.glob("*.txt"))
    assert texts
    bad = set().union(*(forbidden(p.read_text(encoding="utf-8"), quotes) for p in texts))
    assert len(bad) > 500  # the seed's text is far more than its quotes
    zip_path = release.with_name(release.name + ".zip")
    assert leaks(release, zip_path, bad, tmp_path) == []


def test_the_leak_scan_finds_a_text(tmp_path: Path) -> None:
    """The same scan on an ``include`` build finds the text in every place that holds it."""
    from leakscan import database_values, forbidden, leaks

    release = build_with(tmp_path / "build", "include", SEEDS)
    quotes = [
        q
        for table in ("sources", "events", "claims")
        for q in database_values(release / "data" / f"{table}.parquet")
    ]
    text = next(SEEDS.glob("*.txt")).read_text(encoding="utf-8")
    found = leaks(
        release, release.with_name(release.name + ".zip"), forbidden(text, quotes), tmp_path
    )
    where = {line.split(": ", 1)[0] for line in found}
    for name in ("data/articles.parquet", "data/articles.csv", "factpack-news-events.duckdb"):
        assert name in where, where
    assert any(w.startswith("site/articles/") for w in where), where
    assert f"{release.name}.zip:{release.name}/data/articles.csv" in where, where


# --------------------------------------------------------------------------- 5. the card


def _card(policy: str, texts: list[str | None]) -> str:
    import pyarrow as pa

    from factpack.pipeline import card

    package = {**sch.load_schema(REPO_SCHEMA).package, "text_policy": policy}
    schema = sch.Schema(sch.load_schema(REPO_SCHEMA).tables, {}, package)
    articles = pa.table({"article_id": ["a1", "b2", "c3"][: len(texts)], "text": texts})
    extra = {"text": card.text_summary(schema, articles)}
    counts = {"articles": len(texts)}
    return card.data_card(schema, counts, "2024-01-01T00:00:00Z", {}, extra=extra)


def _section(text: str) -> str:
    return text.split("## Distribution and licences\n", 1)[1].split("\n## ", 1)[0]


def test_the_card_of_an_include_release_says_the_texts_are_included() -> None:
    section = _section(_card("include", ["x", "y"]))
    assert "Text policy `include`: this release includes the full text of every article" in section
    assert "factpack hydrate" not in section


def test_the_card_of_a_withhold_release_says_what_why_quotations_and_how_to_hydrate() -> None:
    section = _section(_card("withhold", [None, None]))
    assert "this release **withholds the text of every article**" in section
    assert "Why: an article's text is its publisher's" in section
    for kept in ("`title`", "`url`", "`text_sha256`", "`char_count`", "`evidence_text`"):
        assert kept in section
    assert "The `evidence_text` values are **quotations**" in section
    assert "factpack hydrate factpack-news-events-0.1.0 --texts DIR" in section
    assert "`<article_id>.txt`, e.g. `a1.txt`" in section and "`<stem>.txt`" in section
    assert "factpack-news-events-0.1.0+text/" in section


def test_the_card_counts_per_article_exceptions() -> None:
    section = _section(_card("include", ["x", None, "z"]))
    assert "Text policy `include`, with per-article exceptions" in section
    assert "withholds the text of 1 of its 3 articles" in section
    assert "e.g. `b2.txt`" in section


def test_the_withheld_seed_card_is_the_built_one(releases: dict[str, Path]) -> None:
    card = (releases["withhold"] / "README.md").read_text(encoding="utf-8")
    assert "this release **withholds the text of every article**" in card
    assert "e.g. `alpha.txt`" in card
    assert "its metadata and every evidence quote with its offsets" in card


def test_an_article_override_holds_in_the_release(tmp_path: Path) -> None:
    """Package ``include``, article alpha ``withhold``: alpha's text alone is null, the
    datapackage counts it and the card names the exception."""
    import json

    from factpack.pipeline import release
    from factpack.pipeline.checks import check_release

    seeds = seeds_with_override(tmp_path, "001_alpha", "withhold")
    result = release.build(
        seeds, tmp_path / "dist", tmp_path / "build", schema_dir(tmp_path, "include")
    )
    rows = _read(result.release_dir / "data" / "articles.parquet")
    at = [f.name for f in sch.load_schema(REPO_SCHEMA).table("articles").fields].index("text")
    assert [(r[0], r[at] is None) for r in rows] == [("alpha", True), ("beta", False)]
    descriptor = json.loads((result.release_dir / "datapackage.json").read_text("utf-8"))
    assert descriptor["text_policy"] == {"default": "include", "withheld": 1}
    card = (result.release_dir / "README.md").read_text(encoding="utf-8")
    assert "withholds the text of 1 of its 2 articles" in card
    assert check_release(result.release_dir) == []


def test_the_repository_withholds_the_seed_text() -> None:
    assert sch.load_schema(REPO_SCHEMA).text_policy == "withhold"


@pytest.mark.parametrize("policy", ["include", "withhold"])
def test_own_schema_sets_the_policy_tests_and_the_bench_need(tmp_path: Path, policy: str) -> None:
    from factpack.pipeline.versions import own_schema

    assert sch.load_schema(own_schema(tmp_path / "a", text_policy=policy)).text_policy == policy
    bare = schema_dir(tmp_path / "b", None)  # no text_policy line: one is added
    assert (
        sch.load_schema(own_schema(tmp_path / "c", source=bare, text_policy=policy)).text_policy
        == policy
    )
    assert sch.load_schema(own_schema(tmp_path / "d")).text_policy == "withhold"  # the repository's
