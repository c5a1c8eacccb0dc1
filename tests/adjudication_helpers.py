"""The seed's agreement.json for the site tests, made the way a release carries it.

``seed_agreement()`` is :func:`factpack.pipeline.agreement.agreement_report` over the seed's two
annotators (``seeds/annotators/{first,second}/``), with each article's adjudication notes (the
``adjudication`` list of the published ``seeds/<stem>.yaml``) added under ``adjudication``, as
the review site shows them when agreement.json carries them. The tests may import the build
side; the site may not.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from factpack.pipeline.agreement import agreement_report, load_annotations
from factpack.shared.schema import load_schema

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"


def seed_agreement(notes: bool = True) -> dict[str, Any]:
    """Return the seed's agreement.json (parsed), with the adjudication notes when ``notes``."""
    articles, problems = load_annotations(SEEDS)
    assert not problems, problems
    report = agreement_report(articles, load_schema())
    if notes:
        for entry in report["annotations"]:
            doc = yaml.safe_load((SEEDS / f"{entry['stem']}.yaml").read_text(encoding="utf-8"))
            entry["adjudication"] = doc.get("adjudication") or []
    # Through JSON and back: what the site reads is what a file holds.
    parsed: dict[str, Any] = json.loads(json.dumps(report, default=str))
    return parsed


def write_agreement(release: Path, report: dict[str, Any]) -> Path:
    """Write ``report`` as ``release/agreement.json``."""
    path = release / "agreement.json"
    path.write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
    return path


def build_seed_release(work: Path, text_policy: str = "include") -> Path:
    """Build the seed's release (as `make dataset` does) under ``work`` with ``text_policy``
    (the side-by-side highlights need the text: ``include`` unless told); return its folder."""
    from factpack.pipeline.release import build
    from factpack.pipeline.versions import own_schema

    schema = own_schema(work / "schema", text_policy=text_policy)
    return build(SEEDS, work / "dist", work / "build", schema).release_dir
