"""Compare a candidate YAML loader with factpack's (``shared/yamlload.load_yaml``).

Issue 13 allows another YAML library than libyaml "only if it is well kept and returns exactly
the same data on the whole test and generated corpus". This script is that comparison: it
loads every ``*.yaml``/``*.yml`` file under ``tests/``, ``seeds/`` and ``schema/``, a generated
corpus, and a list of tricky scalars and documents (dates, YAML 1.1 words, octal and
leading-zero numbers, ``.inf``, ``~``, quoted numbers, tags, duplicate keys, anchors and
aliases, several documents, non-text keys) with both loaders and reports

- every input where the data differ (types count: ``1`` is not ``1.0`` nor ``"1"``),
- every input factpack refuses (an error) and the candidate accepts, or the other way round,
- the milliseconds per file of both on the generated corpus (one process, this machine).

Usage: ``python -m bench.yamlcompare ryaml:loads [--corpus DIR | --generate N]``.
The candidate is not a dependency of factpack: install it in the environment to try it.
"""

from __future__ import annotations

import argparse
import importlib
import math
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.generate import generate
from factpack.shared.yamlload import load_yaml

ROOT = Path(__file__).resolve().parents[1]

TRICKY = (
    "a: 2021-06-06",
    "a: '2021-06-06'",
    "a: 2021-06-06T10:00:00Z",
    "a: yes",
    "a: no",
    "a: on",
    "a: 0o17",
    "a: 017",
    "a: 00",
    "a: 0b11",
    "a: 0x1F",
    "a: +0x1F",
    "a: 1_000",
    "a: .inf",
    "a: -.inf",
    "a: .NaN",
    "a: -.nan",
    "a: ~",
    "a: Null",
    "a: '12'",
    '"a": "1.5"',
    "a: 1e3",
    "a: 1.",
    "a: +1",
    "a: tRue",
    "a: 12:30:00",
    "a: !!str 12",
    "a: !!int '12'",
    "a: !!float 1",
    "a: !!binary aGk=",
    "a: !foo x",
    "a: !!python/tuple [1]",
    "a: 1\na: 2",
    "a: &x [1]\nb: *x",
    "a: &x\n  b: *x",
    "---\na: 1\n---\nb: 2",
    "? [1]\n: 2",
    "1: a",
    "<<: {a: 1}\nb: 2",
    "a: {b: A call, threat}",
)


def _same(a: Any, b: Any) -> bool:
    """Equal data with equal types all the way down (NaN equals NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)


def compare(
    candidate: Callable[[str], Any], inputs: list[tuple[str, str]]
) -> list[tuple[str, str]]:
    """Return ``(name, what differs)`` for every input where the candidate is not factpack."""
    out: list[tuple[str, str]] = []
    for name, text in inputs:
        ours = load_yaml(text)
        try:
            theirs, failed = candidate(text), ""
        except Exception as exc:  # any failure of the candidate is a difference to report
            theirs, failed = None, f"{type(exc).__name__}: {str(exc)[:80]}"
        if ours.errors and not failed:
            out.append(
                (name, f"factpack refuses ({ours.errors[0].code}), candidate gives {theirs!r:.60}")
            )
        elif failed and not ours.errors:
            out.append((name, f"factpack gives {ours.data!r:.60}, candidate fails: {failed}"))
        elif not ours.errors and not _same(ours.data, theirs):
            out.append((name, f"factpack {ours.data!r:.60} != candidate {theirs!r:.60}"))
    return out


def repo_files() -> list[Path]:
    """Every YAML file under tests/, seeds/ and schema/."""
    return sorted(
        p
        for folder in ("tests", "seeds", "schema")
        for pattern in ("*.yaml", "*.yml")
        for p in (ROOT / folder).rglob(pattern)
    )


def per_file_ms(load: Callable[[str], Any], texts: list[str]) -> float:
    """CPU milliseconds per text of ``load`` (one pass)."""
    start = time.process_time()
    for text in texts:
        load(text)
    return (time.process_time() - start) / max(1, len(texts)) * 1000


def main(argv: list[str] | None = None) -> int:
    """Compare the candidate and print the differences and the speeds."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("loader", help="module:function taking a str, e.g. ryaml:loads")
    p.add_argument("--corpus", type=Path, help="a generated corpus folder")
    p.add_argument("--generate", type=int, default=2000, help="else generate N articles")
    args = p.parse_args(argv)
    module, _, func = args.loader.partition(":")
    candidate = getattr(importlib.import_module(module), func)

    with tempfile.TemporaryDirectory() as tmp:
        corpus = args.corpus
        if corpus is None:
            corpus = Path(tmp) / "corpus"
            generate(args.generate, corpus)
        generated = sorted(corpus.glob("*.yaml"))
        texts = [p.read_text(encoding="utf-8") for p in generated]
    files = repo_files()
    inputs = [
        *(
            (str(p.relative_to(ROOT)), p.read_text(encoding="utf-8", errors="replace"))
            for p in files
        ),
        *((f"generated/{p.name}", t) for p, t in zip(generated, texts, strict=True)),
        *((f"tricky {t!r}", t) for t in TRICKY),
    ]
    diffs = compare(candidate, inputs)
    for name, what in diffs:
        print(f"DIFFERS {name}: {what}")
    n_diff = {
        kind: sum(1 for n, _ in diffs if n.startswith(kind)) for kind in ("generated/", "tricky")
    }
    print(
        f"{len(files)} repository files, {len(texts)} generated, {len(TRICKY)} tricky: "
        f"{len(diffs)} differ ({n_diff['generated/']} generated, {n_diff['tricky']} tricky, "
        f"{len(diffs) - sum(n_diff.values())} repository)"
    )
    ours_ms = per_file_ms(load_yaml, texts)
    theirs_ms = per_file_ms(candidate, texts)
    print(f"generated corpus, ms per file: factpack {ours_ms:.3f}, {args.loader} {theirs_ms:.3f}")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
