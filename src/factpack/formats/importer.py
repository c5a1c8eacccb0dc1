"""A tool's :class:`~factpack.formats.common.Document` -> our annotation (pure), and writing it.

:func:`to_annotation` maps spans to sources, events, claims, the title and page furniture by
the mapping, relations to ``source_id`` / ``event_id`` / ``responds_to`` + ``relation``, and
computes each quote selector from the span: ``exact``, plus the shortest ``prefix`` and/or
``suffix`` (whole words) only where ``exact`` recurs under the checker's folding. Fields the
tool has no way to carry are written empty and listed as to-dos. :func:`write_imported` writes
``<stem>.txt`` and the annotation, never over an existing one unless told to, and
:func:`check_written` runs the checker on what it wrote.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

from factpack.formats.common import Document, FormatError, Span, check_text, show, stem_of
from factpack.formats.mapping import (
    ID_KEYS,
    ID_LETTERS,
    SECTIONS,
    Mapping_,
    closest,
    coerce,
    item_properties,
    value_problem,
)
from factpack.pipeline.annotations import load_article
from factpack.pipeline.selectors import FoldedText, Selector, SelectorError
from factpack.shared.problems import Problem, display_path
from factpack.shared.schema import ANNOTATION_FORMAT

_UNFILLED_EXEMPT = {"note", "quote", "furniture", "title", "text_sha256"}
_WORD_START = re.compile(r"(?<=\s)\S|^\S", re.M)
_MAX_CONTEXT_WORDS = 12


class ImportProblems(FormatError):
    """Several one-line problems of one import; ``str()`` gives one per line."""

    def __init__(self, lines: Sequence[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = list(lines)


@dataclass
class Imported:
    """One document turned into our annotation.

    Attributes:
        stem: The seeds/ stem (docs/importing.md, "Stems").
        annotator: The annotator's folder name, or None for ``seeds/<stem>.yaml``.
        text: The verbatim text.
        doc: The annotation (format, article, sources, events, claims).
        todos: ``section id: field`` for every field left empty because the tool cannot carry it.
        mapped: What was mapped, for the report.
        skipped: What was left out and why.
    """

    stem: str
    annotator: str | None
    text: str
    doc: dict[str, Any]
    todos: list[str] = field(default_factory=list)
    mapped: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    where: str = ""


# --------------------------------------------------------------------------- quotes


def span_bounds(span: Span, text: str) -> tuple[int, int]:
    """A span's one stretch: a discontinuous span's pieces joined only across white space.

    Raises:
        FormatError: pieces separated by anything but white space (the checker folds only
            white space, so one quote cannot select them).
    """
    if not span.segments:
        return span.start, span.end
    pieces = sorted(span.segments)
    for (_, e1), (s2, _) in itertools.pairwise(pieces):
        gap = text[e1:s2]
        if s2 < e1 or gap.strip():
            raise FormatError(
                f"{span.where}: discontinuous span {span.id} skips {show(gap)}, which one quote "
                "cannot leave out (only white space may lie between its pieces); split it into "
                "separate spans or make it one continuous span in the tool"
            )
    return pieces[0][0], pieces[-1][1]


def _word_starts_before(text: str, pos: int) -> list[int]:
    starts = [m.start() for m in _WORD_START.finditer(text, 0, pos)]
    return starts[::-1][:_MAX_CONTEXT_WORDS]


def _word_ends_after(text: str, pos: int) -> list[int]:
    ends = [m.end() for m in re.finditer(r"\S+", text[pos:])][:_MAX_CONTEXT_WORDS]
    return [pos + e for e in ends]


def quote_for(folded: FoldedText, start: int, end: int, where: str) -> dict[str, str]:
    """The selector of ``text[start:end]``: ``exact``, plus prefix/suffix only when it recurs.

    Raises:
        FormatError: no selector resolves to exactly these offsets (the span begins or ends
            with white space the checker folds, or recurs with identical context).
    """
    text = folded.text
    exact = text[start:end]

    def hits(sel: Selector) -> bool:
        try:
            return folded.resolve(sel) == (start, end)
        except SelectorError:
            return False

    if hits(Selector(exact)):
        return {"exact": exact}
    befores = _word_starts_before(text, start)
    afters = _word_ends_after(text, end)
    for k in range(max(len(befores), len(afters))):
        prefix = text[befores[k] : start] if k < len(befores) else None
        suffix = text[end : afters[k]] if k < len(afters) else None
        if prefix and hits(Selector(exact, prefix=prefix)):
            return {"exact": exact, "prefix": prefix}
        if suffix and hits(Selector(exact, suffix=suffix)):
            return {"exact": exact, "suffix": suffix}
        p = text[befores[min(k, len(befores) - 1)] : start] if befores else None
        s = text[end : afters[min(k, len(afters) - 1)]] if afters else None
        if p and s and hits(Selector(exact, prefix=p, suffix=s)):
            return {"exact": exact, "prefix": p, "suffix": s}
    reason = (
        "it begins or ends with white space"
        if exact != exact.strip()
        else "it recurs with the same words around it"
    )
    raise FormatError(
        f"{where}: the span {show(exact)} at {start}-{end} cannot be quoted exactly: {reason}; "
        "adjust the span in the tool (trim white space, or widen it)"
    )


# --------------------------------------------------------------------------- mapping


def _local_number(value: Any, letter: str) -> int | None:
    if isinstance(value, str) and re.fullmatch(letter + "[0-9]+", value):
        return int(value[1:])
    return None


_Rule = TypeVar("_Rule")


def _mapped(
    label: str,
    where: str,
    kind: str,
    rules: Mapping[str, _Rule],
    mapping: Mapping_,
    skipped: list[str],
    problems: list[str],
) -> _Rule | None:
    """The mapping's rule for a tool ``label`` or relation, or None (then said why).

    A label the mapping ignores goes to ``skipped``; one it does not name is a problem naming
    the closest it does (nothing is dropped silently).
    """
    ignored = mapping.ignore_labels if kind == "label" else mapping.ignore_relations
    if label in ignored:
        skipped.append(f"{where}: {kind} {label!r} (ignored by the mapping)")
        return None
    rule = rules.get(label)
    if rule is None:
        guess = closest(label, rules)
        problems.append(
            f"{where}: {kind} {label!r} is not in the mapping {mapping.shown}"
            + (f" (did you mean {guess!r}?)" if guess else "")
            + f"; add it under `{kind}s:` or list it under `ignore: {kind}s:`"
        )
    return rule


def to_annotation(document: Document, mapping: Mapping_) -> Imported:
    """Turn one tool document into our annotation.

    Raises:
        ImportProblems: every label, feature or relation the mapping does not name, every value
            outside our vocabularies, every span that cannot be quoted (one line each).
        FormatError: the text itself is unusable.
    """
    check_text(document.text, document.where)
    text = document.text
    folded = FoldedText(text)
    problems: list[str] = []
    skipped = list(document.skipped)
    items: dict[str, dict[str, dict[str, Any]]] = {s: {} for s in SECTIONS}
    span_item: dict[str, tuple[str, dict[str, Any]]] = {}
    fillable: dict[int, set[str]] = {}
    positions: dict[int, int] = {}
    furniture: list[tuple[int, dict[str, str]]] = []
    article: dict[str, Any] = dict((document.carried or {}).get("article") or {})
    title_span: str | None = None
    seen: dict[tuple[Any, ...], str] = {}
    alias: dict[str, str] = {}  # a skipped duplicate's id -> the id of the span it repeats
    pending: list[tuple[str, dict[str, Any], Span]] = []

    for span in document.spans:
        rule = _mapped(span.label, span.where, "label", mapping.labels, mapping, skipped, problems)
        if rule is None:
            continue
        key = (span.label, span.start, span.end, span.segments, tuple(sorted(span.fields.items())))
        if span.carried is None and key in seen:
            alias[span.id] = seen[key]
            skipped.append(
                f"{span.where}: duplicate span {span.id} ({span.label} {span.start}-{span.end}, "
                "same label, offsets and features as an earlier one)"
            )
            continue
        seen[key] = span.id
        try:
            start, end = span_bounds(span, text)
            quote = quote_for(folded, start, end, span.where)
        except FormatError as e:
            problems.append(str(e))
            continue
        section = "article" if rule.table in ("article", "furniture") else rule.table
        values: dict[str, Any] = {}
        if span.carried:
            values.update(span.carried)
        if rule.text_field:
            values[rule.text_field] = text[start:end]
        values.update(rule.fixed)
        for feature, raw in span.fields.items():
            if feature in mapping.ignore_features or raw is None or raw == "" or raw == []:
                continue
            target = rule.fields.get(feature)
            if target is None:
                problems.append(
                    f"{span.where}: feature {feature!r} of label {span.label!r} is not in the "
                    f"mapping {mapping.shown}; add it under `labels: {span.label}: fields:` or "
                    "list it under `ignore: features:`"
                )
                continue
            values[target] = coerce(section, target, raw)
        if rule.table == "furniture":
            furniture.append((start, quote))
            continue
        if rule.table == "article":
            article.update({k: v for k, v in values.items() if k != "furniture"})
            article.setdefault("title", text[start:end])
            title_span = span.id
            continue
        for name, value in values.items():
            if value is None:
                continue
            problem = value_problem(section, name, value)
            if problem:
                problems.append(
                    f"{span.where}: {span.label} {span.id}: {problem}; fix it in the tool"
                )
        values["quote"] = quote
        fill = set(rule.fixed) | set(rule.fields.values()) | set(span.carried or {})
        fill |= {rule.text_field} if rule.text_field else set()
        if section == "claims":
            fill |= {r.field for r in mapping.relations.values()}
            if any(r.field == "responds_to" for r in mapping.relations.values()):
                fill.add("relation")
        fillable[id(values)] = fill
        positions[id(values)] = start
        pending.append((section, values, span))
    if title_span is None and "title" not in article:
        article["title"] = text.split("\n", 1)[0].strip()

    # Local ids: the ones an export carried, then new ones in text order.
    taken: dict[str, set[int]] = {s: set() for s in SECTIONS}
    for section, values, span in pending:
        n = _local_number(values.get(ID_KEYS[section]), ID_LETTERS[section])
        if n is not None:
            if n in taken[section]:
                problems.append(
                    f"{span.where}: id {values[ID_KEYS[section]]} is carried by two spans; "
                    "remove the copy in the tool"
                )
            taken[section].add(n)
        else:
            values.pop(ID_KEYS[section], None)
    counters = {s: max(taken[s], default=0) for s in SECTIONS}
    for section, values, span in sorted(pending, key=lambda p: positions[id(p[1])]):
        if ID_KEYS[section] not in values:
            counters[section] += 1
            values[ID_KEYS[section]] = f"{ID_LETTERS[section]}{counters[section]}"
        local = values[ID_KEYS[section]]
        items[section][local] = values
        span_item[span.id] = (section, values)

    # Relations.
    set_by: dict[tuple[int, str], str] = {}
    for rel in document.relations:
        rrule = _mapped(
            rel.label, rel.where, "relation", mapping.relations, mapping, skipped, problems
        )
        if rrule is None:
            continue
        one = span_item.get(alias.get(rel.source, rel.source))
        two = span_item.get(alias.get(rel.target, rel.target))
        if one is None or two is None:
            missing = rel.source if one is None else rel.target
            problems.append(
                f"{rel.where}: relation {rel.id} ({rel.label}) points at {missing}, which is no "
                "mapped span; link two mapped spans, or ignore the relation"
            )
            continue
        want = {"source_id": "sources", "event_id": "events", "responds_to": "claims"}[rrule.field]
        sections = (one[0], two[0])
        pair: tuple[dict[str, Any], dict[str, Any]] | None = None
        if rrule.field == "responds_to":
            pair = (one[1], two[1]) if sections == ("claims", "claims") else None
        elif sections == ("claims", want):
            pair = (one[1], two[1])
        elif sections == (want, "claims"):
            pair = (two[1], one[1])
        if pair is None:
            problems.append(
                f"{rel.where}: relation {rel.id} ({rel.label}) links {sections[0]} to "
                f"{sections[1]}; it fills {rrule.field}, so it must link a claim and "
                f"{'a claim' if want == 'claims' else 'a ' + want[:-1]}"
            )
            continue
        claim, other = pair
        value = other[ID_KEYS[want]]
        before = set_by.get((id(claim), rrule.field))
        if before is not None and claim.get(rrule.field) != value:
            problems.append(
                f"{rel.where}: claim {claim['claim_id']} has two {rrule.field} relations "
                f"({before} and {rel.id}); keep one in the tool"
            )
            continue
        set_by[(id(claim), rrule.field)] = rel.id
        claim[rrule.field] = value
        if rrule.relation:
            claim["relation"] = rrule.relation

    # Article fields.
    for name, value in mapping.article.items():
        article[name] = value
    for name, value in article.items():
        if (
            value is not None
            and name != "furniture"
            and (problem := value_problem("article", name, value))
        ):
            problems.append(f"{document.where}: article: {problem}; fix it in the mapping")
    if problems:
        raise ImportProblems(problems)

    stem = stem_of(document.name, text)
    todos: list[str] = []
    out_article: dict[str, Any] = {}
    for name in item_properties()["article"]:
        if name == "text_sha256":
            out_article[name] = hashlib.sha256(text.encode("utf-8")).hexdigest()
        elif name == "furniture":
            out_article[name] = [q for _, q in sorted(furniture, key=lambda f: f[0])]
        elif name in article:
            out_article[name] = article[name]
        elif name not in ("note", "text_policy"):  # optional: absent means the package's
            out_article[name] = None
            todos.append(f"article: {name}")
    if article.get("note"):
        out_article["note"] = article["note"]
    doc: dict[str, Any] = {"format": ANNOTATION_FORMAT, "article": out_article}
    mapped: list[str] = []
    for section in SECTIONS:
        out_items = []
        for local in sorted(items[section], key=lambda i: int(i[1:])):
            values = items[section][local]
            item: dict[str, Any] = {}
            for name in item_properties()[section]:
                if name in values:
                    item[name] = values[name]
                elif name == "note":
                    continue
                else:
                    item[name] = None
                    if name not in fillable[id(values)] and name not in _UNFILLED_EXEMPT:
                        todos.append(f"{section} {local}: {name}")
            out_items.append(item)
        doc[section] = out_items
        mapped.append(f"{len(out_items)} {section}")
    mapped.append(f"{len(furniture)} furniture")
    return Imported(
        stem=stem,
        annotator=document.annotator,
        text=text,
        doc=doc,
        todos=todos,
        mapped=mapped,
        skipped=skipped,
        where=document.where,
    )


# --------------------------------------------------------------------------- writing


def render(imported: Imported, depth: int) -> str:
    """The annotation file's text: a header (with the to-dos) and the YAML (PyYAML's dump).

    Args:
        imported: The annotation.
        depth: How many folders below the repository root the file lies (for the
            ``$schema`` comment).
    """
    up = "../" * depth
    head = [
        f"# yaml-language-server: $schema={up}schema/annotation.schema.json",
        "# How to annotate: docs/annotation-guide.md",
        f"# Imported by `factpack import` from {imported.where}.",
    ]
    if imported.todos:
        head.append("# TODO: the tool cannot carry these fields; fill them in (null until then):")
        head.extend(f"#   - {t}" for t in imported.todos)
    body = yaml.safe_dump(
        imported.doc, sort_keys=False, allow_unicode=True, width=100, default_flow_style=False
    )
    return "\n".join(head) + "\n" + body


def annotation_path(to: Path, imported: Imported) -> Path:
    """``to/<stem>.yaml``, or ``to/annotators/<name>/<stem>.yaml`` for an annotator's work."""
    if imported.annotator:
        return to / "annotators" / imported.annotator / f"{imported.stem}.yaml"
    return to / f"{imported.stem}.yaml"


def write_imported(batch: Sequence[Imported], to: Path, *, replace: bool) -> list[Path]:
    """Write every text and annotation, after checking none would be overwritten.

    Raises:
        FormatError: two documents give the same file, an annotation exists (without
            ``replace``), or an existing text differs from the tool's (never overwritten).
    """
    targets: dict[Path, Imported] = {}
    texts: dict[Path, str] = {}
    for imp in batch:
        path = annotation_path(to, imp)
        if path in targets:
            raise FormatError(
                f"{imp.where}: gives {display_path(path)}, like {targets[path].where}; "
                "rename one document in the tool (the stem comes from its name)"
            )
        targets[path] = imp
        txt = to / f"{imp.stem}.txt"
        if txt in texts and texts[txt] != imp.text:
            raise FormatError(
                f"{imp.where}: the text of {imp.stem} differs from another document's of the same "
                "name; every annotator must annotate the same verbatim text"
            )
        texts[txt] = imp.text
    for txt, text in texts.items():
        if txt.exists() and txt.read_text(encoding="utf-8") != text:
            raise FormatError(
                f"{display_path(txt)}: exists with a different text than the export's; "
                "the text is verbatim and never overwritten: remove it first if the export is right"
            )
    if not replace:
        for path in targets:
            if path.exists():
                raise FormatError(
                    f"{display_path(path)}: the annotation exists already; "
                    "pass --replace to overwrite it (the review-then-reimport loop)"
                )
    for txt, text in texts.items():
        txt.parent.mkdir(parents=True, exist_ok=True)
        if not txt.exists():
            txt.write_text(text, encoding="utf-8", newline="\n")
    depth = len(Path(to).resolve().relative_to(Path.cwd().resolve()).parts) if _below_cwd(to) else 1
    for path, imp in targets.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        extra = 2 if imp.annotator else 0
        path.write_text(render(imp, depth + extra), encoding="utf-8", newline="\n")
    return list(targets)


def _below_cwd(path: Path) -> bool:
    try:
        Path(path).resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return False
    return True


def check_written(paths: Sequence[Path], to: Path) -> list[Problem]:
    """Run the checker on written annotations (an annotator's file next to a copy of its text)."""
    problems: list[Problem] = []
    for path in paths:
        if path.parent == Path(to):
            problems.extend(load_article(path)[1])
            continue
        with tempfile.TemporaryDirectory() as tmp:
            shutil.copy(path, Path(tmp) / path.name)
            shutil.copy(Path(to) / f"{path.stem}.txt", Path(tmp) / f"{path.stem}.txt")
            shown = display_path(path)
            for p in load_article(Path(tmp) / path.name)[1]:
                problems.append(
                    Problem(shown, p.line, p.col, p.message, p.hint, p.code)
                    if p.path.endswith(".yaml")
                    else p
                )
    return problems


def import_documents(
    documents: Sequence[Document], mapping: Mapping_, *, annotator: str | None = None
) -> list[Imported]:
    """Map every document; ``annotator`` files work no tool names under that annotator.

    Raises:
        ImportProblems: the problems of every document, one line each.
        FormatError: ``annotator`` given for an export that names its annotators.
    """
    out: list[Imported] = []
    problems: list[str] = []
    named = sorted({d.annotator for d in documents if d.annotator})
    if annotator and named:
        raise FormatError(
            f"{documents[0].where}: the export names its annotators ({', '.join(named)}); "
            "each goes to seeds/annotators/<name>/, so drop --annotator"
        )
    for doc in documents:
        try:
            imp = to_annotation(doc, mapping)
        except ImportProblems as e:
            problems.extend(e.lines)
            continue
        if annotator:
            imp.annotator = annotator
        out.append(imp)
    if problems:
        raise ImportProblems(problems)
    return out
