"""bench/generate.py: the synthetic corpus is deterministic, valid and covers the format."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from factpack.pipeline.annotations import check_paths

ROOT = Path(__file__).resolve().parents[1]


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_generate", ROOT / "bench" / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_generate"] = module
    spec.loader.exec_module(module)
    return module


gen = _load_generator()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("corpus")
    gen.generate(30, out, jobs=1)
    return out


def _docs(corpus: Path) -> list[tuple[str, dict]]:
    return [
        (
            p.with_suffix(".txt").read_text(encoding="utf-8"),
            yaml.load(p.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader),
        )
        for p in sorted(corpus.glob("*.yaml"))
    ]


def test_generated_corpus_passes_the_checker(corpus: Path) -> None:
    assert len(list(corpus.glob("*.yaml"))) == 30
    assert [p.format() for p in check_paths([corpus])] == []


def test_names_lengths_counts_and_hashes(corpus: Path) -> None:
    stems = sorted(p.stem for p in corpus.glob("*.txt"))
    assert stems == sorted(p.stem for p in corpus.glob("*.yaml"))
    for i, stem in enumerate(stems):
        assert stem == gen.article_stem(gen.DEFAULT_SEED, i)
        assert len(stem) == 23 and stem[6] == "_" and stem.startswith(f"{i:06d}")
    for text, doc in _docs(corpus):
        assert 2000 <= len(text) <= 8000
        n = sum(len(doc[s]) for s in ("sources", "events", "claims"))
        assert 5 <= n <= 40
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        assert doc["article"]["text_sha256"] == digest
        assert text.split("\n", 1)[0] == doc["article"]["title"]


def test_non_ascii_references_and_disambiguation_occur(corpus: Path) -> None:
    docs = _docs(corpus)
    texts = "".join(t for t, _ in docs)
    assert any(ord(ch) > 0xFFFF for ch in texts)  # outside the BMP
    assert "’" in texts and "“" in texts and "é" in texts
    claims = [c for _, d in docs for c in d["claims"]]
    assert any(c["responds_to"] for c in claims)
    assert any(c["event_id"] for c in claims)
    quotes = [i["quote"] for _, d in docs for s in ("sources", "events", "claims") for i in d[s]]
    assert any("suffix" in q or "prefix" in q for q in quotes)
    # Some direct quotes are written with straight quotes against the curly ones in the text.
    assert any('"' in q["exact"] for q in quotes)


def test_every_vocabulary_value_is_used(corpus: Path) -> None:
    vocab = gen.load_vocabularies()
    used: dict[str, Counter[str]] = {name: Counter() for name in vocab.values}
    columns = {
        "sources": {"source_kind": "source_kind"},
        "events": {
            "event_type": "event_type",
            "sub_event_type": "sub_event_type",
            "factuality": "factuality",
            "date_precision": "date_precision",
            "date_basis": "date_basis",
            "geo_precision": "geo_precision",
        },
        "claims": {"claim_kind": "claim_kind", "certainty": "certainty", "relation": "relation"},
    }
    for _, doc in _docs(corpus):
        used["date_basis"][doc["article"]["published_date_basis"]] += 1
        for section, cols in columns.items():
            for item in doc[section]:
                for col, name in cols.items():
                    if item[col] is not None:
                        used[name][item[col]] += 1
    for name, values in vocab.values.items():
        assert set(used[name]) == set(values), name


def test_generation_is_deterministic_and_prefix_stable(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    gen.generate(12, a, jobs=1)
    gen.generate(5, b, jobs=1)
    for p in b.iterdir():
        assert p.read_bytes() == (a / p.name).read_bytes()
    assert gen.build_article(7, 3, gen.load_vocabularies()) == gen.build_article(
        7, 3, gen.load_vocabularies()
    )
    assert gen.build_article(7, 3, gen.load_vocabularies()) != gen.build_article(
        8, 3, gen.load_vocabularies()
    )


def test_generated_corpus_builds_and_reports_stage_timings(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from factpack.cli import cli

    corpus = tmp_path / "corpus"
    gen.generate(20, corpus, jobs=1)
    timings = tmp_path / "timings.json"
    args = ["build", "--seeds", str(corpus), "--dist", str(tmp_path / "dist")]
    args += ["--build-dir", str(tmp_path / "build"), "--timings", str(timings)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "articles 20," in result.output
    stages = json.loads(timings.read_text(encoding="utf-8"))
    for stage in ("load", "assemble", "validate", "write", "package", "frictionless"):
        assert stages[stage] >= 0.0
