"""What the clients researchers use read: the .duckdb's storage format, load.sql, croissant.json,
the Hugging Face card header, schema.org JSON-LD, .zenodo.json and CITATION.cff.

The real clients (DuckDB 1.x, frictionless, mlcroissant, datasets, cffconvert, readr) run in
``make interop``; these tests check what our locked libraries can.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
import yaml

from factpack.pipeline import release
from factpack.pipeline.checks import duckdb_matches
from factpack.pipeline.croissant import CROISSANT_FILE, croissant
from factpack.pipeline.extras import (
    card_paragraphs,
    citation_cff,
    hf_card_header,
    hf_card_metadata,
    missing_metadata,
    size_category,
    write_release_extras,
    zenodo_metadata,
)
from factpack.pipeline.loadsql import LOAD_SQL, load_sql, self_references
from factpack.shared.schema import Schema, load_schema
from factpack.shared.schemaorg import Coverage, coverage, dataset_jsonld, read_coverage

FIXTURE_SEEDS = Path(__file__).parent / "fixtures" / "build" / "seeds"
NAME = "factpack-news-events-0.1.0"
DB = "factpack-news-events.duckdb"
TABLES = ("articles", "sources", "events", "claims")


@pytest.fixture(scope="module")
def schema() -> Schema:
    return load_schema()


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> release.BuildResult:
    """A build of the fixture seeds."""
    root = tmp_path_factory.mktemp("interop")
    shutil.copytree(FIXTURE_SEEDS, root / "seeds")
    return release.build(root / "seeds", root / "dist", root / "build")


@pytest.fixture(scope="module")
def built(result: release.BuildResult) -> Path:
    """The release folder of a build of the fixture seeds."""
    return result.release_dir


def _storage_version(path: Path) -> str:
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{path}' AS db (READ_ONLY)")
        ((tags,),) = con.execute(
            "SELECT tags FROM duckdb_databases() WHERE database_name = 'db'"
        ).fetchall()
        return str(tags["storage_version"])
    finally:
        con.close()


def _catalogue(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Comments, columns and constraints of every table of a DuckDB file."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {
            "tables": con.execute(
                "SELECT table_name, comment FROM duckdb_tables() WHERE NOT internal ORDER BY ALL"
            ).fetchall(),
            "columns": con.execute(
                "SELECT table_name, column_name, data_type, is_nullable, comment "
                "FROM duckdb_columns() WHERE NOT internal ORDER BY table_name, column_index"
            ).fetchall(),
            "constraints": con.execute(
                "SELECT table_name, constraint_type, constraint_text FROM duckdb_constraints() "
                "WHERE table_name IN ('articles', 'sources', 'events', 'claims') ORDER BY ALL"
            ).fetchall(),
        }
    finally:
        con.close()


def test_duckdb_file_is_written_in_storage_v1_2_0(built: Path) -> None:
    # DuckDB 1.x opens v1.2.0 files; DuckDB 2.x's default format it refuses.
    assert _storage_version(built / DB).startswith("v1.2.0")


def test_load_sql_is_in_the_release_and_the_zip(built: Path) -> None:
    import zipfile

    assert (built / LOAD_SQL).is_file()
    sums = (built / "SHA256SUMS").read_text(encoding="utf-8")
    assert f"  {LOAD_SQL}\n" in sums
    with zipfile.ZipFile(built.with_name(built.name + ".zip")) as zf:
        names = zf.namelist()
    for name in (LOAD_SQL, CROISSANT_FILE, ".zenodo.json", "CITATION.cff"):
        assert f"{NAME}/{name}" in names, name
        assert f"  {name}\n" in sums, name
    assert not any(n.endswith(".duckdb") for n in names)


def test_load_sql_builds_the_same_database_as_the_release(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "mine.duckdb"
    monkeypatch.chdir(built)  # load.sql reads data/<table>.parquet from the release folder
    con = duckdb.connect(str(db))
    con.execute((built / LOAD_SQL).read_text(encoding="utf-8"))
    con.close()
    parquet = {t: built / "data" / f"{t}.parquet" for t in TABLES}
    assert duckdb_matches(db, parquet) == []
    assert _catalogue(db) == _catalogue(built / DB)
    mine = _catalogue(db)
    assert ("claims", "FOREIGN KEY") in {(t, k) for t, k, _ in mine["constraints"]}
    assert all(comment for _, _, _, _, comment in mine["columns"])


def test_load_sql_names_the_undeclared_self_reference(schema: Schema) -> None:
    assert self_references(schema) == ["claims.responds_to -> claims.claim_id"]
    text = load_sql(schema, DB)
    assert "duckdb my.duckdb < load.sql" in text
    assert f"holds this database already built: {DB}." in text
    assert "claims.responds_to -> claims.claim_id" in text
    assert 'REFERENCES "claims"' not in text


# --- croissant.json ---------------------------------------------------------------------------


def test_croissant_has_a_file_object_with_sha256_per_data_file(built: Path) -> None:
    doc = json.loads((built / CROISSANT_FILE).read_text(encoding="utf-8"))
    assert doc["conformsTo"] == "http://mlcommons.org/croissant/1.1"
    files = {f["contentUrl"]: f for f in doc["distribution"]}
    assert sorted(files) == sorted(f"data/{t}.{fmt}" for t in TABLES for fmt in ("parquet", "csv"))
    for rel, obj in files.items():
        assert obj["@type"] == "cr:FileObject"
        assert obj["sha256"] == hashlib.sha256((built / rel).read_bytes()).hexdigest()
        expected = "application/x-parquet" if rel.endswith(".parquet") else "text/csv"
        assert obj["encodingFormat"] == expected


def test_croissant_record_sets_have_keys_and_references_but_no_self_reference(
    built: Path, schema: Schema
) -> None:
    doc = json.loads((built / CROISSANT_FILE).read_text(encoding="utf-8"))
    sets = {rs["@id"]: rs for rs in doc["recordSet"]}
    assert list(sets) == list(TABLES)
    assert sets["claims"]["key"] == {"@id": "claims/claim_id"}
    fields = {f["name"]: f for f in sets["claims"]["field"]}
    assert list(fields) == schema.table("claims").field_names
    assert fields["source_id"]["references"] == {"field": {"@id": "sources/source_id"}}
    assert fields["source_id"]["source"] == {
        "fileObject": {"@id": "claims.parquet"},
        "extract": {"column": "source_id"},
    }
    assert "references" not in fields["responds_to"]
    assert "References claims.claim_id" in fields["responds_to"]["description"]
    assert fields["char_start"]["dataType"] == "sc:Integer"
    assert {f["dataType"] for f in sets["events"]["field"]} >= {"sc:Date", "sc:DateTime"}


def test_croissant_url_only_when_the_package_gives_one(schema: Schema) -> None:
    digests = {f"data/{t}.{fmt}": "0" * 64 for t in TABLES for fmt in ("parquet", "csv")}
    assert "url" not in croissant(schema, digests, "2026-01-01T00:00:00Z")
    doc = croissant(schema, digests, "2026-01-01T00:00:00Z", "https://example.org/d")
    assert doc["url"] == "https://example.org/d"


# --- Hugging Face header, CITATION.cff, .zenodo.json, schema.org ------------------------------


def _with_package(schema: Schema, **changes: object) -> Schema:
    return dataclasses.replace(schema, package={**schema.package, **changes})


def test_card_starts_with_the_hugging_face_header_one_config_per_table(built: Path) -> None:
    card = (built / "README.md").read_text(encoding="utf-8")
    assert card.startswith("---\n")
    header = yaml.safe_load(card.split("---\n", 2)[1])
    assert header["license"] == "cc-by-4.0"
    assert header["language"] == ["en"]  # from articles.language, not guessed
    assert header["size_categories"] == ["n<1K"]
    assert header["configs"] == [
        {"config_name": t, "data_files": [{"split": "train", "path": f"data/{t}.parquet"}]}
        for t in TABLES
    ]
    assert card.count("\n---\n") == 1  # the header is put on once


def test_header_task_categories_come_from_the_package(schema: Schema) -> None:
    cover = Coverage({"claims": 12_000})
    meta = hf_card_metadata(_with_package(schema, task_categories=["text-classification"]), cover)
    assert meta["task_categories"] == ["text-classification"]
    assert meta["size_categories"] == ["10K<n<100K"]
    assert "task_categories" not in hf_card_metadata(
        _with_package(schema, task_categories=None), cover
    )
    assert hf_card_header(schema, cover).startswith("---\n") and size_category(999) == "n<1K"


def test_citation_cff_has_url_repository_and_doi_only_when_given(schema: Schema) -> None:
    bare = yaml.safe_load(
        citation_cff(_with_package(schema, homepage="", repository=None), "2026-11-24T00:00:00Z")
    )
    assert bare["date-released"] == "2026-11-24" and bare["version"] == "0.1.0"
    assert not {"url", "repository-code", "doi"} & set(bare)
    full = yaml.safe_load(
        citation_cff(
            _with_package(
                schema,
                homepage="https://example.org/d",
                repository="https://example.org/code",
                doi="10.5281/zenodo.1",
            ),
            "2026-11-24T00:00:00Z",
        )
    )
    assert full["url"] == "https://example.org/d"
    assert full["repository-code"] == "https://example.org/code"
    assert full["doi"] == "10.5281/zenodo.1"


def test_zenodo_metadata_related_identifiers_only_when_given(schema: Schema) -> None:
    bare = zenodo_metadata(_with_package(schema, homepage="", repository=None), "2026-11-24T0")
    assert bare["upload_type"] == "dataset" and bare["license"] == "cc-by-4.0"
    assert bare["creators"] == [{"name": "factpack contributors"}]
    assert "related_identifiers" not in bare and "doi" not in bare
    full = zenodo_metadata(
        _with_package(schema, repository="https://example.org/code", doi="10.5281/zenodo.1"),
        "2026-11-24T0",
    )
    assert full["doi"] == "10.5281/zenodo.1"
    assert full["related_identifiers"] == [
        {
            "identifier": "https://example.org/code",
            "relation": "isCompiledBy",
            "resource_type": "software",
        }
    ]


def test_missing_homepage_and_repository_are_build_warnings(schema: Schema) -> None:
    warnings = missing_metadata(_with_package(schema, homepage="", repository=None))
    assert [w.split(": ", 2)[1].split(";")[0] for w in warnings] == [
        "no `homepage:`",
        "no `repository:`",
    ]
    assert all("package.yaml: " in w for w in warnings)
    given = _with_package(schema, homepage="https://a.example", repository="https://b.example")
    assert missing_metadata(given) == []


def test_schema_org_dataset_from_the_data(built: Path, schema: Schema) -> None:
    cover = read_coverage(built, schema.tables)
    assert cover.languages == ("en",)
    assert cover.start is not None and cover.end is not None and cover.start <= cover.end
    descriptor = json.loads((built / "datapackage.json").read_text(encoding="utf-8"))
    doc = dataset_jsonld(descriptor, cover, ["data/claims.parquet", "load.sql"])
    assert doc["@type"] == "Dataset" and doc["version"] == "0.1.0"
    assert doc["name"] == schema.package["title"]
    assert doc["license"] == "https://creativecommons.org/licenses/by/4.0/"
    assert doc["creator"] == [{"@type": "Organization", "name": "factpack contributors"}]
    assert doc["temporalCoverage"] == f"{cover.start}/{cover.end}"
    assert "url" not in doc  # package.yaml has no homepage: none is invented
    assert [d["encodingFormat"] for d in doc["distribution"]] == [
        "application/vnd.apache.parquet",
        "application/sql",
    ]
    assert doc["distribution"][0]["contentUrl"] == "data/claims.parquet"
    places = dataset_jsonld(descriptor, Coverage({}, countries=("RU", "UA")), [])
    assert [p["address"]["addressCountry"] for p in places["spatialCoverage"]] == ["RU", "UA"]


def test_coverage_reads_dates_and_countries() -> None:
    events = pa.table(
        {
            "date_start": pa.array([dt.date(2023, 5, 3), dt.date(2023, 5, 1), None]),
            "date_end": pa.array([dt.date(2023, 5, 9), None, None], pa.date32()),
            "country": pa.array(["UA", "RU", None]),
        }
    )
    articles = pa.table({"language": ["en", "uk", "en"]})
    cover = coverage({"articles": articles, "events": events})
    assert (cover.start, cover.end) == ("2023-05-01", "2023-05-09")
    assert cover.countries == ("RU", "UA") and cover.languages == ("en", "uk")
    assert cover.rows == {"articles": 3, "events": 3}


def test_card_paragraphs_name_load_sql_and_the_clients(schema: Schema) -> None:
    text = "\n".join(card_paragraphs(schema))
    for needle in (
        "`duckdb my.duckdb < load.sql`",
        f"The release folder (not the zip) also holds `{DB}`",
        "storage format v1.2.0",
        '`pip install "frictionless[parquet]" pandas`',
        "validate the folder, not the zip",
        "`sha256sum -c SHA256SUMS` covers every file, the Parquet files included",
        'load_dataset("<this folder>", "claims")',
        "croissant.json",
        "`claims.responds_to -> claims.claim_id`",
    ):
        assert needle in text, needle


def test_the_build_warns_of_missing_homepage_and_repository(result: release.BuildResult) -> None:
    assert any("no `homepage:`" in w for w in result.warnings)
    assert any("no `repository:`" in w for w in result.warnings)


def test_write_release_extras_leaves_the_card_alone(
    built: Path, schema: Schema, tmp_path: Path
) -> None:
    """The card renders its Hugging Face header itself; the extras never prepend one."""
    out = tmp_path / "rel"
    shutil.copytree(built / "data", out / "data")
    (out / "README.md").write_text("# card\n", encoding="utf-8")
    write_release_extras(out, schema)
    assert (out / "README.md").read_text(encoding="utf-8") == "# card\n"
    assert (built / "README.md").read_text(encoding="utf-8").startswith("---\nlicense: cc-by-4.0")
