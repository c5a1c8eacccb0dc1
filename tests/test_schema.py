"""schema.py: loading schema/ and the derived annotation JSON Schema."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from factpack.shared import schema as sch
from factpack.shared.problems import FactpackError

REPO_SCHEMA = Path(__file__).resolve().parents[1] / "schema"


@pytest.fixture(scope="module")
def schema() -> sch.Schema:
    return sch.load_schema(REPO_SCHEMA)


@pytest.fixture(scope="module")
def validator(schema: sch.Schema) -> jsonschema.Draft202012Validator:
    js = sch.annotation_json_schema(schema)
    jsonschema.Draft202012Validator.check_schema(js)
    return jsonschema.Draft202012Validator(js)


def _doc() -> dict[str, Any]:
    return {
        "format": "factpack-annotation/1",
        "article": {
            "text_sha256": "0" * 64,
            "title": "A title",
            "publisher": "The Sun",
            "url": None,
            "published_date": "2023-05-04",
            "published_date_basis": "inferred",
            "published_date_note": "why",
            "language": "en",
            "furniture": [{"exact": "MORE ON RUSSIA"}],
        },
        "sources": [
            {
                "source_id": "S1",
                "name": "The Sun",
                "source_kind": "media",
                "is_named": True,
                "quote": {"exact": "The Sun", "prefix": "Most read in "},
            }
        ],
        "events": [
            {
                "event_id": "E1",
                "event_type": "Explosions/Remote violence",
                "sub_event_type": "Air/drone strike",
                "summary": "s",
                "factuality": "reported",
                "date_start": "2023-05-03",
                "date_end": None,
                "date_precision": "day",
                "date_basis": "inferred",
                "date_note": "last night",
                "time_local": "20:00",
                "timezone": "Europe/Kyiv",
                "geo_precision": "town",
                "quote": {"exact": "x"},
            }
        ],
        "claims": [
            {
                "claim_id": "C1",
                "source_id": "S1",
                "event_id": "E1",
                "claim_text": "t",
                "is_direct_quote": False,
                "cue": "said",
                "claim_kind": "accusation",
                "certainty": "certain",
                "responds_to": None,
                "relation": None,
                "quote": {"exact": "said"},
                "note": "free text",
            }
        ],
    }


def test_tables_load_in_fixed_order(schema: sch.Schema) -> None:
    assert list(schema.tables) == ["articles", "sources", "events", "claims"]


def test_vocabulary_resolves_into_enum_and_categories(schema: sch.Schema) -> None:
    f = schema.table("sources").field("source_kind")
    assert f.constraints["enum"] == list(schema.vocabularies["source_kind"].values)
    assert f.categories[0]["value"] == "person"
    assert f.categories[0]["label"].startswith("One individual")
    assert "categories" in f.descriptor()


def test_every_field_has_a_description(schema: sch.Schema) -> None:
    for table in schema.tables.values():
        for f in table.fields:
            assert f.description, (table.name, f.name)


def test_unknown_vocabulary_is_an_error(tmp_path: Path) -> None:
    root = tmp_path / "schema"
    shutil.copytree(REPO_SCHEMA, root)
    p = root / "tables" / "claims.yaml"
    p.write_text(p.read_text().replace("vocabulary: certainty", "vocabulary: nope"))
    with pytest.raises(FactpackError, match="unknown vocabulary 'nope'"):
        sch.load_schema(root)


def test_missing_schema_dir_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FactpackError, match="schema file missing"):
        sch.load_schema(tmp_path)


def test_default_root_is_the_repository_schema() -> None:
    assert sch.default_root() == REPO_SCHEMA


def test_example_document_is_valid(validator: jsonschema.Draft202012Validator) -> None:
    assert list(validator.iter_errors(_doc())) == []


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("format",), "factpack-annotation/2"),
        (("sources", 0, "source_id"), "a4:S1"),
        (("claims", 0, "source_id"), "E1"),
        (("claims", 0, "responds_to"), "S1"),
        (("claims", 0, "event_id"), "C1"),
        (("events", 0, "date_start"), "3 May 2023"),
        (("events", 0, "factuality"), "rumoured"),
        (("sources", 0, "quote"), {"exact": ""}),
        (("sources", 0, "quote"), {"exact": "x", "where": 1}),
        (("article", "furniture"), [{"prefix": "x"}]),
        (("sources", 0, "is_named"), "yes"),
        (("events", 0, "time_local"), "25:00"),
    ],
)
def test_bad_values_are_rejected(
    validator: jsonschema.Draft202012Validator, path: tuple[Any, ...], value: Any
) -> None:
    doc = _doc()
    target: Any = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert list(validator.iter_errors(doc)), path


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ("sources", "article_id"),
        ("sources", "evidence_text"),
        ("events", "start_utc"),
        ("events", "char_start"),
        ("claims", "surprise"),
    ],
)
def test_derived_and_unknown_keys_are_rejected(
    validator: jsonschema.Draft202012Validator, section: str, key: str
) -> None:
    doc = _doc()
    doc[section][0][key] = "x"
    assert list(validator.iter_errors(doc))


def test_article_rejects_derived_columns(validator: jsonschema.Draft202012Validator) -> None:
    for key in ("article_id", "text", "char_count"):
        doc = _doc()
        doc["article"][key] = "x"
        assert list(validator.iter_errors(doc)), key


def test_required_fields_and_quote(validator: jsonschema.Draft202012Validator) -> None:
    doc = _doc()
    del doc["claims"][0]["quote"]
    del doc["article"]["title"]
    msgs = [e.message for e in validator.iter_errors(doc)]
    assert any("'quote' is a required property" in m for m in msgs)
    assert any("'title' is a required property" in m for m in msgs)


def test_optional_fields_may_be_null(validator: jsonschema.Draft202012Validator) -> None:
    doc = _doc()
    doc["sources"][0].update(role=None, country=None, wikidata_qid=None, affiliation=None)
    doc["events"][0].update(latitude=None, country=None, sub_event_type="Air/drone strike")
    assert list(validator.iter_errors(doc)) == []


def test_descriptions_come_from_the_schema(schema: sch.Schema) -> None:
    js = sch.annotation_json_schema(schema)
    prop = js["$defs"]["sources_item"]["properties"]["source_kind"]
    assert prop["description"].startswith(schema.table("sources").field("source_kind").description)
    assert "`footage`" in prop["description"]


def test_schema_change_changes_the_derivation(tmp_path: Path) -> None:
    root = tmp_path / "schema"
    shutil.copytree(REPO_SCHEMA, root)
    voc = root / "vocabularies.yaml"
    voc.write_text(
        voc.read_text().replace(
            "    possible:\n",
            "    doubtful:\n      definition: Doubted.\n      example: y\n    possible:\n",
        )
    )
    js = sch.annotation_json_schema(sch.load_schema(root))
    assert "doubtful" in js["$defs"]["claims_item"]["properties"]["certainty"]["enum"]


def test_committed_annotation_schema_is_up_to_date(schema: sch.Schema) -> None:
    committed = (REPO_SCHEMA / "annotation.schema.json").read_text(encoding="utf-8")
    assert committed == sch.annotation_json_text(schema), "run `make schema` and commit"


def test_write_annotation_schema_reports_change(tmp_path: Path) -> None:
    root = tmp_path / "schema"
    shutil.copytree(REPO_SCHEMA, root)
    (root / "annotation.schema.json").unlink()
    path, changed = sch.write_annotation_schema(root)
    assert changed and path.exists()
    assert sch.write_annotation_schema(root) == (path, False)


# ---------------------------------------------------------------- meta-test: every target

_ARROW = {
    "string": "string",
    "integer": "int64",
    "number": "double",
    "boolean": "bool",
    "date": "date32[day]",
    "datetime": "timestamp[us, tz=UTC]",
}
_DUCK = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "number": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "datetime": "TIMESTAMP WITH TIME ZONE",
}


@pytest.mark.parametrize("name", sch.TABLE_ORDER)
def test_every_target_agrees_with_the_table_schema(schema: sch.Schema, name: str) -> None:
    import duckdb
    import pandas as pd

    table = schema.table(name)
    names = table.field_names
    required = {f.name for f in table.fields if f.required}

    # Arrow
    arrow = sch.arrow_schema(table)
    assert arrow.names == names
    for f in table.fields:
        af = arrow.field(f.name)
        assert str(af.type) == _ARROW[f.type]
        assert af.nullable == (f.name not in required)
        assert af.metadata[b"description"].decode() == f.description

    # pandera
    pan = sch.pandera_schema(table)
    assert list(pan.columns) == names
    for f in table.fields:
        col = pan.columns[f.name]
        assert col.nullable == (f.name not in required)
        assert col.dtype.type == pd.ArrowDtype(sch.arrow_type(f))
        if "enum" in f.constraints:
            assert any("isin" in str(c) for c in col.checks)
        if "pattern" in f.constraints:
            assert any("str_matches" in str(c) for c in col.checks)
    pk_col = pan.columns[table.primary_key[0]]
    assert pk_col.unique

    # DuckDB DDL (comments included)
    con = duckdb.connect(":memory:")
    for other in sch.TABLE_ORDER[: sch.TABLE_ORDER.index(name) + 1]:
        for stmt in sch.duckdb_ddl(schema.table(other)):
            con.execute(stmt)
    described = con.execute(f'DESCRIBE "{name}"').fetchall()
    assert [r[0] for r in described] == names
    for row in described:
        f = table.field(row[0])
        assert row[1] == _DUCK[f.type]
        assert (row[2] == "NO") == (f.name in required)
        assert (row[3] == "PRI") == (f.name in table.primary_key)
    comments = dict(
        con.execute(
            "SELECT column_name, comment FROM duckdb_columns() WHERE table_name = ?", [name]
        ).fetchall()
    )
    assert comments == {f.name: f.description for f in table.fields}
    con.close()

    # Frictionless Table Schema (both resource flavours)
    for suffix in ("", "_csv"):
        desc = sch.table_schema_descriptor(table, suffix)
        assert [fd["name"] for fd in desc["fields"]] == names
        assert [fd["type"] for fd in desc["fields"]] == [f.type for f in table.fields]
        assert {
            fd["name"] for fd in desc["fields"] if fd.get("constraints", {}).get("required")
        } == required
        assert desc["primaryKey"] == list(table.primary_key)
        for fk, fd in zip(table.foreign_keys, desc.get("foreignKeys", []), strict=True):
            assert fd["reference"]["resource"] == fk.ref_table + suffix

    # data dictionary
    dictionary = sch.data_dictionary(schema)
    for f in table.fields:
        assert f"| `{f.name}` | {f.type} |" in dictionary

    # annotation JSON Schema: the columns minus the derived ones
    js = sch.annotation_json_schema(schema)
    item = js["$defs"]["article" if name == "articles" else f"{name}_item"]
    assert [k for k in item["properties"] if k in names] == [
        n for n in names if n not in sch.DERIVED_COLUMNS[name]
    ]
    assert set(item["required"]) - {"quote"} == required - sch.DERIVED_COLUMNS[name]


def test_duckdb_ddl_enforces_enum_and_pattern(schema: sch.Schema) -> None:
    import duckdb

    con = duckdb.connect(":memory:")
    for stmt in sch.duckdb_ddl(schema.table("articles")):
        con.execute(stmt)
    row = "('a', 't', NULL, NULL, NULL, 'guessed', NULL, 'en', '{}', 'x', 1)"
    with pytest.raises(duckdb.ConstraintException):
        con.execute(f"INSERT INTO articles VALUES {row.format('0' * 64)}")
    with pytest.raises(duckdb.ConstraintException):
        con.execute(f"INSERT INTO articles VALUES {row.replace('guessed', 'stated').format('z')}")
    con.execute(f"INSERT INTO articles VALUES {row.replace('guessed', 'stated').format('0' * 64)}")


# --- the schema read back from a release's datapackage.json ---------------------------------


def _descriptor(schema: sch.Schema) -> dict[str, Any]:
    """A descriptor with each table's Parquet and CSV resources, as a release has them."""
    resources = []
    for table in schema.tables.values():
        for fmt, suffix in (("parquet", ""), ("csv", "_csv")):
            resources.append(
                {
                    "name": table.name + suffix,
                    "title": f"{table.title} ({'CSV' if suffix else 'Parquet'})",
                    "description": table.description,
                    "path": f"data/{table.name}.{fmt}",
                    "format": fmt,
                    "schema": sch.table_schema_descriptor(table, suffix),
                }
            )
    return {"name": "pack", "version": "1.0.0", "text_policy": {}, "resources": resources}


def test_schema_from_descriptor_round_trips(schema: sch.Schema) -> None:
    """descriptor -> Schema -> descriptor is the same, and so is the DuckDB DDL."""
    got = sch.schema_from_descriptor(_descriptor(schema), Path("dp.json"))
    assert list(got.tables) == list(schema.tables)
    for name, want in schema.tables.items():
        table = got.table(name)
        assert sch.table_schema_descriptor(table) == sch.table_schema_descriptor(want)
        assert sch.table_schema_descriptor(table, "_csv") == sch.table_schema_descriptor(
            want, "_csv"
        )
        assert sch.duckdb_ddl(table) == sch.duckdb_ddl(want)
        assert (table.title, table.description) == (want.title, want.description)
    assert got.vocabularies == {} and dict(got.package) == {"name": "pack", "version": "1.0.0"}


def _broken(schema: sch.Schema, edit: Any) -> dict[str, Any]:
    descriptor = _descriptor(schema)
    edit(descriptor["resources"][2]["schema"])  # sources (Parquet)
    return descriptor


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda s: s["fields"][0].pop("type"),
            r"'sources'.*\(schema/fields/0: 'type' is a required",
        ),
        (
            lambda s: s["fields"][1].update(type="blob"),
            r"\(schema/fields/1/type: 'blob' is not one of",
        ),
        (lambda s: s.update(primaryKey=["nope"]), r"key column 'nope' is not a field"),
        (
            lambda s: s["foreignKeys"][0]["reference"].update(resource="claims"),
            r"foreign key to 'claims', not a Parquet resource before it",
        ),
    ],
)
def test_schema_from_a_broken_descriptor_is_one_line_naming_the_file(
    schema: sch.Schema, edit: Any, message: str
) -> None:
    with pytest.raises(FactpackError, match=message) as caught:
        sch.schema_from_descriptor(_broken(schema, edit), Path("rel/datapackage.json"))
    text = str(caught.value)
    assert text.startswith("rel/datapackage.json: resource ") and "\n" not in text


def test_schema_from_a_descriptor_without_parquet_resources_is_refused() -> None:
    with pytest.raises(FactpackError, match=r"^dp.json: no Parquet resource"):
        sch.schema_from_descriptor({"resources": [{"format": "csv"}]}, Path("dp.json"))
