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


def seeds_with_override(tmp_path: Path, stem: str, policy: str) -> Path:
    """A copy of the fixture seeds in which article ``stem`` sets ``text_policy: policy``."""
    seeds = tmp_path / "seeds"
    shutil.copytree(FIXTURE_SEEDS, seeds)
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
