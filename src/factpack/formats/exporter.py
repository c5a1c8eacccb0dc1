"""Our annotations -> what a tool shows, and what travels in its metadata.

:func:`load_seeds` reads and checks annotations (an export of a file with problems would lose
data, so it refuses them). :func:`export_items` lists, per article, every span the tools show:
the title (``Article``), page furniture, sources, events and claims, each with the fields the tool
shows and ``carried``: everything else (local id, summaries, dates, notes), which the tool keeps in
its metadata so that importing the export gives back the same annotation. Tool modules write
the files; :func:`mapping_yaml` writes the mapping that imports them back.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from factpack.formats.common import FormatError
from factpack.formats.mapping import ID_KEYS, SECTIONS, export_mapping, item_properties
from factpack.pipeline.annotations import annotation_files, load_article
from factpack.pipeline.article import Article
from factpack.pipeline.selectors import FoldedText, Selector

LABELS = {"sources": "Source", "events": "Event", "claims": "Claim"}
RELATION_FIELDS = ("source_id", "event_id", "responds_to", "relation")
_TOKEN = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class ExportSpan:
    """One span as a tool shows it.

    Attributes:
        key: A stable id for the tool (our local id; ``title``; ``F1``... for furniture).
        label: Article, Furniture, Source, Event or Claim.
        start: First code point.
        end: Exclusive end, in code points.
        shown: Vocabulary fields the tool shows as attributes/choices.
        carried: What travels in the tool's metadata.
    """

    key: str
    label: str
    start: int
    end: int
    shown: dict[str, Any] = field(default_factory=dict)
    carried: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ExportLink:
    """A relation: ``label`` from the span ``source`` to ``target`` (span keys)."""

    label: str
    source: str
    target: str


def vocabulary_fields(token_values_only: bool) -> dict[str, list[str]]:
    """Fields with a vocabulary (not claim links) -> their values, from schema/.

    Args:
        token_values_only: Keep only vocabularies whose values are single tokens (brat
            attribute values cannot hold spaces or slashes).
    """
    out: dict[str, list[str]] = {}
    for section in SECTIONS:
        for name, prop in item_properties()[section].items():
            values = [v for v in prop.get("enum", []) if v is not None]
            if not values or name in RELATION_FIELDS:
                continue
            if token_values_only and not all(_TOKEN.match(v) for v in values):
                continue
            out[name] = values
    return out


def load_seeds(paths: Iterable[Path]) -> list[Article]:
    """Load and check the annotations under ``paths`` (files or folders).

    Raises:
        FormatError: any annotation has a problem (export only what `factpack check` passes).
    """
    files, problems = annotation_files(paths)
    articles: list[Article] = []
    for path in files:
        article, found = load_article(path)
        problems.extend(found)
        if article is not None:
            articles.append(article)
    if problems:
        raise FormatError(
            problems[0].format()
            + f" ({len(problems)} problem(s); run `factpack check`, exports need clean files)"
        )
    if not articles:
        raise FormatError("no annotation to export; give seeds/ or <stem>.yaml files")
    return articles


def export_items(
    article: Article, shown_fields: Sequence[str]
) -> tuple[list[ExportSpan], list[ExportLink], dict[str, Any]]:
    """The spans, relations and carried article section of one article.

    Args:
        article: A loaded, checked article.
        shown_fields: Vocabulary fields the tool shows (they are not carried too, so an edit
            in the tool wins).
    """
    doc = article.doc
    text = article.text
    spans: list[ExportSpan] = []
    links: list[ExportLink] = []
    art = {k: v for k, v in doc["article"].items() if k not in ("text_sha256", "furniture")}
    carried_article = dict(art)
    # The Article span (the title's line, stripped) carries the article section, so tools
    # without document-level metadata (brat) keep it too.
    title = re.search(r"\S(?:.*\S)?", text)
    if title:
        spans.append(ExportSpan("title", "Article", title.start(), title.end(), {}, art))
        carried_article = {}
    folded = FoldedText(text)
    for i, sel in enumerate(doc["article"].get("furniture") or [], 1):
        s, e = folded.resolve(Selector(sel["exact"], sel.get("prefix"), sel.get("suffix")))
        spans.append(ExportSpan(f"F{i}", "Furniture", s, e))
    for section in SECTIONS:
        for item in doc.get(section) or []:
            local = item[ID_KEYS[section]]
            start, end = article.spans[(section, local)]
            shown = {k: item[k] for k in shown_fields if k in item and item[k] is not None}
            carried = {
                k: v
                for k, v in item.items()
                if k not in shown
                and k != "quote"
                and not (section == "claims" and k in RELATION_FIELDS)
            }
            spans.append(ExportSpan(local, LABELS[section], start, end, shown, carried))
            if section == "claims":
                for key, label in (("source_id", "source"), ("event_id", "event")):
                    if item.get(key):
                        links.append(ExportLink(label, local, item[key]))
                if item.get("responds_to"):
                    links.append(ExportLink(item["relation"], local, item["responds_to"]))
    return spans, links, carried_article


def mapping_yaml(
    tool: str, shown_fields: Iterable[str], extra: dict[str, Any] | None = None
) -> str:
    """The text of ``mapping.yaml``: the mapping that imports an export back."""
    head = (
        f"# The mapping that imports this {tool} export back into seeds/:\n"
        f"#   factpack import {tool} <files> --mapping mapping.yaml\n"
        "# Written by `factpack export`; see docs/importing.md.\n"
    )
    return head + yaml.safe_dump(
        {**export_mapping(tool, shown_fields), **(extra or {})},
        sort_keys=False,
        allow_unicode=True,
    )


def write_file(path: Path, text: str) -> Path:
    """Write a text file (UTF-8, LF) and return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")
    return path
