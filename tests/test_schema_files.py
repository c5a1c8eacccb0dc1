"""The project's own schema files are checked against schema/meta/*.schema.json.

A broken copy of each file (tests/fixtures/schema_files/) fails with one line naming the file,
the line and the fix; every vocabulary definition is a whole sentence, and every place that
publishes it (datapackage.json, the data card, the guide, annotation.schema.json) carries
exactly that text.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest

from factpack.shared import schema as sch
from factpack.shared.guide import GUIDE_PATH
from factpack.shared.problems import FactpackError

ROOT = Path(__file__).resolve().parents[1]
REPO_SCHEMA = ROOT / "schema"
BROKEN = Path(__file__).resolve().parent / "fixtures" / "schema_files"
SEEDS = Path(__file__).resolve().parent / "fixtures" / "build" / "seeds"


@pytest.mark.parametrize("name", sorted(sch.META_SCHEMAS.values()))
def test_meta_schemas_are_valid_json_schemas(name: str) -> None:
    meta = json.loads((REPO_SCHEMA / "meta" / name).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(meta)


CASES = [
    (
        "vocabularies_comma.yaml",
        "vocabularies.yaml",
        "vocabularies.yaml:8:26: claim_kind.values.demand.definition: 'A call' has the wrong form "
        "(and 1 more); write one whole sentence",
    ),
    (
        "vocabularies_duplicate.yaml",
        "vocabularies.yaml",
        "vocabularies.yaml:8:5: duplicate key 'assertion' (first at line 5); keep one of them",
    ),
    (
        "vocabularies_list.yaml",
        "vocabularies.yaml",
        "vocabularies.yaml:5:5: claim_kind.values is a list, expected a mapping; list the values "
        "as a mapping",
    ),
    (
        "vocabularies_no_stop.yaml",
        "vocabularies.yaml",
        "vocabularies.yaml:9:19: claim_kind.values.denial.definition: 'Says that something did "
        "not happen' has the wrong form; write one whole sentence",
    ),
    (
        "vocabularies_bad_name.yaml",
        "vocabularies.yaml",
        "vocabularies.yaml:2:1: 'Claim kind' is not a valid name; name the vocabulary in lower "
        "case with underscores",
    ),
    (
        "vocabularies_parent.yaml",
        "vocabularies.yaml",
        "vocabularies.yaml:12:15: sub_event_type.values.Armed clash.parent: 'Battle' is not a "
        "value of another vocabulary",
    ),
    (
        "articles_bad_type.yaml",
        "tables/articles.yaml",
        "articles.yaml:11:11: fields[1].type: 'text' is not one of",
    ),
    (
        "articles_unknown_key.yaml",
        "tables/articles.yaml",
        "articles.yaml:11:1: unknown key 'foreignkeys'; allowed: name, title, description, "
        "fields, primaryKey, foreignKeys",
    ),
    (
        "articles_constraint_shape.yaml",
        "tables/articles.yaml",
        "articles.yaml:9:29: fields[0].constraints.required is text, expected a boolean "
        "(true or false); write true or false",
    ),
    (
        "articles_unknown_vocabulary.yaml",
        "tables/articles.yaml",
        "articles.yaml:12:17: field 'kind' names unknown vocabulary 'article_kind'; define it in "
        "schema/vocabularies.yaml",
    ),
    (
        "articles_primary_key.yaml",
        "tables/articles.yaml",
        "articles.yaml:10:14: primaryKey names 'id', which is not a field; name a column",
    ),
    (
        "articles_bad_pattern.yaml",
        "tables/articles.yaml",
        "articles.yaml:9:58: fields[0].constraints.pattern: '^[a-z' is not a 'regex'; "
        "write a regular expression",
    ),
    (
        "package_missing_key.yaml",
        "package.yaml",
        "package.yaml:2:1: the file is missing 'title'; add `title:` (give the dataset a title)",
    ),
    (
        "package_version_number.yaml",
        "package.yaml",
        "package.yaml:5:10: version is a number, expected text; write the version as "
        "MAJOR.MINOR.PATCH",
    ),
    (
        "package_license_shape.yaml",
        "package.yaml",
        "package.yaml:7:11: licenses is text, expected a list; list the licenses",
    ),
]


@pytest.mark.parametrize(("broken", "target", "expected"), CASES, ids=[c[0] for c in CASES])
def test_a_broken_schema_file_fails_with_its_line_and_a_fix(
    tmp_path: Path, broken: str, target: str, expected: str
) -> None:
    root = tmp_path / "schema"
    shutil.copytree(REPO_SCHEMA, root)
    shutil.copyfile(BROKEN / broken, root / target)
    with pytest.raises(sch.SchemaFileError) as info:
        sch.load_schema(root)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(root / target).rsplit("/", 1)[0]), message
    assert expected in message, message


def test_the_repository_schema_loads_and_keeps_its_values() -> None:
    schema = sch.load_schema(REPO_SCHEMA)
    assert schema.package["version"] == str(schema.package["version"])
    assert schema.package["created"] == "2026-11-24T00:00:00Z"  # quoted: stays text


# --------------------------------------------------------------------- the definitions


def _definitions() -> list[tuple[str, str, str]]:
    schema = sch.load_schema(REPO_SCHEMA)
    return [
        (vocab.name, value, info["definition"])
        for vocab in schema.vocabularies.values()
        for value, info in vocab.values.items()
    ]


def test_every_definition_is_one_whole_sentence() -> None:
    schema = sch.load_schema(REPO_SCHEMA)
    defs = _definitions()
    assert len(defs) >= 68
    for vocab in schema.vocabularies.values():
        for value, info in vocab.values.items():
            assert set(info) <= {"definition", "example", "parent"}, (vocab.name, value)
            text = info["definition"]
            assert text[:1].isupper() and text.endswith("."), (vocab.name, value, text)
            assert text == " ".join(text.split()), (vocab.name, value, text)


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from factpack.pipeline import release as rel

    root = tmp_path_factory.mktemp("defs")
    shutil.copytree(SEEDS, root / "seeds")
    result = rel.build(root / "seeds", root / "dist", root / "build")
    return result.release_dir


def test_datapackage_categories_carry_the_definitions(release: Path) -> None:
    package = json.loads((release / "datapackage.json").read_text(encoding="utf-8"))
    labels = {
        (c["value"], c["label"])
        for res in package["resources"]
        for f in res["schema"]["fields"]
        for c in f.get("categories", [])
    }
    for _, value, definition in _definitions():
        assert (value, definition) in labels, (value, definition)


def test_data_card_carries_the_definitions(release: Path) -> None:
    card = (release / "README.md").read_text(encoding="utf-8")
    for _, value, definition in _definitions():
        assert f"`{value}`" in card and definition in card, (value, definition)


def test_guide_carries_the_definitions() -> None:
    guide = GUIDE_PATH.read_text(encoding="utf-8")
    for _, value, definition in _definitions():
        assert f"| {definition} |" in guide, (value, definition)


def test_annotation_schema_carries_the_definitions() -> None:
    committed = (REPO_SCHEMA / sch.ANNOTATION_SCHEMA_FILE).read_text(encoding="utf-8")
    descriptions = "\n".join(
        str(node.get("description", ""))
        for node in _walk(json.loads(committed))
        if isinstance(node, dict)
    )
    for _, value, definition in _definitions():
        assert f"- `{value}`: {definition}\n" in descriptions + "\n", (value, definition)


def _walk(node: object) -> list[object]:
    out = [node]
    if isinstance(node, dict):
        for v in node.values():
            out += _walk(v)
    elif isinstance(node, list):
        for v in node:
            out += _walk(v)
    return out


# --------------------------------------------------------------------- the commands


def test_cli_prints_one_line_for_a_broken_schema_file(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from factpack.cli import cli

    root = tmp_path / "schema"
    shutil.copytree(REPO_SCHEMA, root)
    shutil.copyfile(BROKEN / "package_version_number.yaml", root / "package.yaml")
    result = CliRunner().invoke(cli, ["schema", "--schema-dir", str(root)])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "Traceback" not in result.output
    assert "package.yaml:5:10: version is a number" in result.output


def test_schema_check_and_write(tmp_path: Path) -> None:
    root = tmp_path / "schema"
    shutil.copytree(REPO_SCHEMA, root)
    assert sch.check_annotation_schema(root) == root / sch.ANNOTATION_SCHEMA_FILE
    (root / sch.ANNOTATION_SCHEMA_FILE).write_text("{}\n", encoding="utf-8")
    with pytest.raises(FactpackError, match=r"annotation.schema.json: out of date; run"):
        sch.check_annotation_schema(root)
    assert sch.write_annotation_schema(root)[1] is True
    assert sch.check_annotation_schema(root)
    assert sch.write_annotation_schema(root)[1] is False


def test_guide_check_and_write(tmp_path: Path) -> None:
    from factpack.shared import guide

    schema = sch.load_schema(REPO_SCHEMA)
    path = tmp_path / "guide.md"
    text = GUIDE_PATH.read_text(encoding="utf-8")
    path.write_text(text.replace("| ", "|  ", 3), encoding="utf-8")
    with pytest.raises(FactpackError, match=r"guide.md: out of date; run `factpack guide"):
        guide.check(schema, path)
    assert guide.write(schema, path) == (path, True)
    assert path.read_text(encoding="utf-8") == text
    assert guide.check(schema, path) == path
    assert guide.write(schema, path) == (path, False)
    with pytest.raises(FactpackError, match=r"nowhere.md: cannot read the guide"):
        guide.check(schema, tmp_path / "nowhere.md")
