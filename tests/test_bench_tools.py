"""bench/yamlcompare.py and bench/ab.py: the tools behind docs/scaling.md, "The load stage"."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import ab, yamlcompare  # noqa: E402

from factpack.shared.yamlload import load_yaml  # noqa: E402


def _ours_or_raise(text: str) -> Any:
    loaded = load_yaml(text)
    if loaded.errors:
        raise ValueError(loaded.errors[0].message)
    return loaded.data


def test_the_same_loader_differs_nowhere() -> None:
    inputs = [(t, t) for t in yamlcompare.TRICKY]
    assert yamlcompare.compare(_ours_or_raise, inputs) == []


def test_a_yaml11_loader_differs_on_dates_words_and_refusals() -> None:
    inputs = [(t, t) for t in yamlcompare.TRICKY]
    names = {name for name, _ in yamlcompare.compare(yaml.safe_load, inputs)}
    assert "a: 2021-06-06" in names  # a date, not a string
    assert "a: yes" in names  # True, not "yes"
    assert "a: 1\na: 2" in names  # factpack refuses duplicate keys; PyYAML keeps the last


def test_types_count_in_the_comparison() -> None:
    assert yamlcompare._same({"a": [1]}, {"a": [1]})
    assert not yamlcompare._same(1, 1.0)
    assert not yamlcompare._same(1, True)
    assert not yamlcompare._same({"a": 1, "b": 2}, {"b": 2, "a": 1})
    assert yamlcompare._same(float("nan"), float("nan"))


def test_repository_files_cover_tests_seeds_and_schema() -> None:
    tops = {p.relative_to(ROOT).parts[0] for p in yamlcompare.repo_files()}
    assert tops == {"tests", "seeds", "schema"}


def test_ab_extracts_the_src_and_schema_of_a_commit(tmp_path: Path) -> None:
    sha, src = ab.extract("HEAD", tmp_path)
    assert len(sha) == 40
    assert (src / "factpack" / "__init__.py").is_file()
    assert (src.parent / "schema" / "vocabularies.yaml").is_file()
