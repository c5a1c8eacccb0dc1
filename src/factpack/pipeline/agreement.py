"""Agreement between annotators of the same article (``factpack agree``, ``agreement.json``).

Each annotator's own annotation of ``seeds/<stem>.txt`` is
``seeds/annotators/<name>/<stem>.yaml``; every article with two or more of them is compared,
every pair of its annotators, per table (sources, events, claims):

* **spans**: precision, recall and F1 of one annotator's evidence spans against the other's,
  *exact* (same ``char_start`` and ``char_end``) and *overlapping* (see :data:`MATCHING_RULE`).
  The first annotator of a pair (in name order) is the reference: precision is
  matched / the second's items, recall matched / the first's items; F1 is symmetric.
* **codes** of the items matched by overlap: for every categorical field of the table (a field
  with a controlled vocabulary, or a boolean: taken from ``schema/tables/*.yaml``),
  Krippendorff's alpha (nominal, the ``krippendorff`` package) and raw agreement, with the
  number of matched pairs behind them. An empty value is a category of its own (``(none)``).
  Alpha is ``None`` (printed ``n/a (k items)``) where it rests on fewer than
  :data:`MIN_ALPHA_ITEMS` pairs or where only one category occurs (alpha is undefined).
* **references** of matched claims (claim -> source, claim -> event, responds_to): the share of
  matched claim pairs whose references agree: both empty, or pointing at two items that are
  themselves matched.

Counts are pooled over all articles and pairs before any figure is computed (micro average).
With more than two annotators each matched pair is one unit coded by two coders.
Everything here but :func:`load_annotations` is a pure function of parsed annotations.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

import krippendorff
import numpy as np

from factpack.pipeline.annotations import annotator_files, load_article
from factpack.pipeline.article import Article
from factpack.shared.problems import Problem
from factpack.shared.schema import DERIVED_COLUMNS, Schema

AGREEMENT_FORMAT = "factpack-agreement/1"
MIN_ALPHA_ITEMS = 10
"""Alpha over fewer matched pairs than this is not reported (``n/a (k items)``)."""

NONE = "(none)"
"""The category of an empty (null) value."""

TABLES: tuple[tuple[str, str], ...] = (
    ("sources", "source_id"),
    ("events", "event_id"),
    ("claims", "claim_id"),
)
"""Compared tables and their local id field."""

REFERENCES: tuple[tuple[str, str, str, str], ...] = (
    ("claims", "source_id", "sources", "claim -> source"),
    ("claims", "event_id", "events", "claim -> event"),
    ("claims", "responds_to", "claims", "responds_to"),
)
"""(table, field, referenced table, label) of the references compared."""

MATCHING_RULE = (
    "Two items of the same table match when their evidence spans overlap by at least one "
    "character. Matching is one-to-one and greedy by greatest overlap: all overlapping pairs are "
    "taken in order of overlap length (longest first; ties: the smaller sum of start and end "
    "differences, then document order) and a pair is kept when neither item is matched yet. "
    "An exact match has the same char_start and char_end."
)


@dataclass(frozen=True)
class Item:
    """One annotated item reduced to what is compared.

    Attributes:
        id: Local id (``S1``, ``E2``, ``C3``).
        start: ``char_start`` of the evidence.
        end: ``char_end`` of the evidence (exclusive).
        codes: Categorical field -> value (``None`` when empty).
        refs: Reference field -> local id or ``None``.
    """

    id: str
    start: int
    end: int
    codes: Mapping[str, Any] = field(default_factory=dict)
    refs: Mapping[str, str | None] = field(default_factory=dict)


def coded_fields(schema: Schema, table: str) -> list[str]:
    """Return the categorical fields of a table: a vocabulary or a boolean, not derived."""
    return [
        f.name
        for f in schema.table(table).fields
        if (f.vocabulary or f.type == "boolean") and f.name not in DERIVED_COLUMNS[table]
    ]


def items_of(article: Article, table: str, schema: Schema) -> list[Item]:
    """Return the items of one table of an annotation, in file order."""
    id_key = dict(TABLES)[table]
    fields = coded_fields(schema, table)
    ref_fields = [f for t, f, _, _ in REFERENCES if t == table]
    out = []
    for raw in article.doc.get(table) or []:
        local = str(raw[id_key])
        start, end = article.spans[(table, local)]
        out.append(
            Item(
                local,
                start,
                end,
                {f: raw.get(f) for f in fields},
                {f: raw.get(f) for f in ref_fields},
            )
        )
    return out


def match(a: Sequence[Item], b: Sequence[Item]) -> list[tuple[int, int]]:
    """Match items one-to-one by greatest overlap (:data:`MATCHING_RULE`).

    Returns:
        ``(index in a, index in b)`` pairs, in order of ``a``.
    """
    candidates = []
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            overlap = min(x.end, y.end) - max(x.start, y.start)
            if overlap > 0:
                distance = abs(x.start - y.start) + abs(x.end - y.end)
                candidates.append((-overlap, distance, i, j))
    candidates.sort()
    used_a: set[int] = set()
    used_b: set[int] = set()
    pairs = []
    for _, _, i, j in candidates:
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
            pairs.append((i, j))
    return sorted(pairs)


def exact_matches(a: Sequence[Item], b: Sequence[Item]) -> int:
    """Return how many items match exactly (same span), one-to-one."""
    spans_a = Counter((x.start, x.end) for x in a)
    spans_b = Counter((y.start, y.end) for y in b)
    return sum((spans_a & spans_b).values())


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def span_figures(matched: int, n_a: int, n_b: int) -> dict[str, Any]:
    """Return precision, recall and F1 of ``matched`` items between ``n_a`` and ``n_b`` items.

    ``a`` is the reference: precision = matched / n_b, recall = matched / n_a,
    F1 = 2 matched / (n_a + n_b). A ratio over zero items is ``None``.
    """
    return {
        "precision": _ratio(matched, n_b),
        "recall": _ratio(matched, n_a),
        "f1": _ratio(2 * matched, n_a + n_b),
        "matched": matched,
        "items_a": n_a,
        "items_b": n_b,
    }


def category(value: Any) -> str:
    """Return a code value as a nominal category (``None`` -> ``(none)``, booleans lower-case)."""
    if value is None:
        return NONE
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def code_figures(pairs: Sequence[tuple[Any, Any]]) -> dict[str, Any]:
    """Return Krippendorff's alpha (nominal) and raw agreement of paired codes.

    Args:
        pairs: One ``(value of the first, value of the second annotator)`` per matched item.

    Returns:
        ``alpha`` (``None`` when fewer than :data:`MIN_ALPHA_ITEMS` pairs or a single
        category), ``alpha_undefined`` (why, or ``None``), ``agreement`` (share of equal
        pairs, ``None`` without pairs), ``items`` and ``categories``.
    """
    cats = [(category(x), category(y)) for x, y in pairs]
    domain = sorted({c for pair in cats for c in pair})
    n = len(cats)
    alpha: float | None = None
    why: str | None = None
    if n < MIN_ALPHA_ITEMS:
        why = f"fewer than {MIN_ALPHA_ITEMS} items"
    elif len(domain) < 2:
        why = "one category only"
    else:
        index = {c: k for k, c in enumerate(domain)}
        data = np.array([[index[x] for x, _ in cats], [index[y] for _, y in cats]], dtype=float)
        alpha = float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))
    return {
        "alpha": alpha,
        "alpha_undefined": why,
        "agreement": _ratio(sum(x == y for x, y in cats), n),
        "items": n,
        "categories": len(domain),
    }


@dataclass
class _Pooled:
    """Counts of one table pooled over articles and annotator pairs."""

    exact: int = 0
    overlap: int = 0
    n_a: int = 0
    n_b: int = 0
    codes: dict[str, list[tuple[Any, Any]]] = field(default_factory=dict)
    refs: dict[str, list[bool]] = field(default_factory=dict)


def _annotator_items(
    annotations: Mapping[str, Article], schema: Schema
) -> dict[str, dict[str, list[Item]]]:
    return {
        name: {table: items_of(article, table, schema) for table, _ in TABLES}
        for name, article in annotations.items()
    }


def compare_pair(
    a: Mapping[str, Sequence[Item]], b: Mapping[str, Sequence[Item]], schema: Schema
) -> dict[str, dict[str, Any]]:
    """Compare two annotations of one article, table by table.

    Args:
        a: The first annotator's items by table.
        b: The second annotator's items by table.
        schema: The schema (the categorical fields).

    Returns:
        Per table: ``matches`` (index pairs), ``exact`` (count), ``codes`` (field -> value
        pairs of matched items) and ``refs`` (reference field -> agreement of each matched pair).
    """
    out: dict[str, dict[str, Any]] = {}
    for table, _ in TABLES:
        pairs = match(a[table], b[table])
        out[table] = {
            "matches": pairs,
            "exact": exact_matches(a[table], b[table]),
            "codes": {
                f: [(a[table][i].codes[f], b[table][j].codes[f]) for i, j in pairs]
                for f in coded_fields(schema, table)
            },
        }
    for table, ref, target, _ in REFERENCES:
        matched = {(a[target][i].id, b[target][j].id) for i, j in out[target]["matches"]}
        agree = []
        for i, j in out[table]["matches"]:
            x, y = a[table][i].refs[ref], b[table][j].refs[ref]
            agree.append((x is None and y is None) or (x, y) in matched)
        out[table].setdefault("refs", {})[ref] = agree
    return out


def agreement(articles: Mapping[str, Mapping[str, Article]], schema: Schema) -> dict[str, Any]:
    """Compute the agreement figures (JSON-able) over every article with 2+ annotations.

    Args:
        articles: Article stem -> annotator name -> that annotator's parsed annotation.
        schema: The schema (categorical fields come from its tables).

    Returns:
        ``format``, ``matching``, ``min_alpha_items``, ``articles`` (stems and annotators
        compared), ``pairs`` (annotator pairs compared) and ``tables``: per table ``spans``
        (``exact``, ``overlap``: see :func:`span_figures`), ``codes`` (field -> see
        :func:`code_figures`) and ``references`` (label -> ``agreement``, ``items``).
    """
    pooled = {table: _Pooled() for table, _ in TABLES}
    compared = []
    n_pairs = 0
    for stem in sorted(articles):
        names = sorted(articles[stem])
        if len(names) < 2:
            continue
        compared.append({"stem": stem, "annotators": names})
        items = _annotator_items(articles[stem], schema)
        for x, y in combinations(names, 2):
            n_pairs += 1
            result = compare_pair(items[x], items[y], schema)
            for table, _ in TABLES:
                p, r = pooled[table], result[table]
                p.exact += r["exact"]
                p.overlap += len(r["matches"])
                p.n_a += len(items[x][table])
                p.n_b += len(items[y][table])
                for f, values in r["codes"].items():
                    p.codes.setdefault(f, []).extend(values)
                for f, agree in r.get("refs", {}).items():
                    p.refs.setdefault(f, []).extend(agree)
    tables: dict[str, Any] = {}
    for table, _ in TABLES:
        p = pooled[table]
        tables[table] = {
            "spans": {
                "exact": span_figures(p.exact, p.n_a, p.n_b),
                "overlap": span_figures(p.overlap, p.n_a, p.n_b),
            },
            "codes": {f: code_figures(p.codes.get(f, [])) for f in coded_fields(schema, table)},
            "references": {
                label: {
                    "field": ref,
                    "agreement": _ratio(sum(p.refs.get(ref, [])), len(p.refs.get(ref, []))),
                    "items": len(p.refs.get(ref, [])),
                }
                for t, ref, _, label in REFERENCES
                if t == table
            },
        }
    return {
        "format": AGREEMENT_FORMAT,
        "matching": MATCHING_RULE,
        "min_alpha_items": MIN_ALPHA_ITEMS,
        "articles": compared,
        "pairs": n_pairs,
        "tables": tables,
    }


def _item_json(item: Item) -> dict[str, Any]:
    return {
        "id": item.id,
        "char_start": item.start,
        "char_end": item.end,
        "codes": dict(item.codes),
        **({"references": dict(item.refs)} if item.refs else {}),
    }


def agreement_report(
    articles: Mapping[str, Mapping[str, Article]], schema: Schema
) -> dict[str, Any]:
    """Return ``agreement.json`` of a release: the figures and each annotator's items.

    Besides :func:`agreement`'s figures, ``annotations`` lists per compared article (stem,
    article id) each annotator's items per table (local id, offsets, codes, references), and
    ``comparisons`` per article and annotator pair the matched ids (with whether the span is
    exact and which codes differ) and the ids each annotator alone has, so the release alone
    can show the disagreements.
    """
    report = agreement(articles, schema)
    annotations = []
    comparisons = []
    for entry in report["articles"]:
        stem = entry["stem"]
        names = entry["annotators"]
        items = _annotator_items(articles[stem], schema)
        annotations.append(
            {
                "stem": stem,
                "article_id": next(iter(articles[stem].values())).article_id,
                "annotators": {
                    name: {
                        table: [_item_json(it) for it in items[name][table]] for table, _ in TABLES
                    }
                    for name in names
                },
            }
        )
        for x, y in combinations(names, 2):
            result = compare_pair(items[x], items[y], schema)
            tables: dict[str, Any] = {}
            for table, _ in TABLES:
                a, b = items[x][table], items[y][table]
                pairs = result[table]["matches"]
                matched = []
                for k, (i, j) in enumerate(pairs):
                    differ = [
                        f for f in a[i].codes if category(a[i].codes[f]) != category(b[j].codes[f])
                    ]
                    differ += [
                        f for f, agree in result[table].get("refs", {}).items() if not agree[k]
                    ]
                    matched.append(
                        {
                            "a": a[i].id,
                            "b": b[j].id,
                            "exact": (a[i].start, a[i].end) == (b[j].start, b[j].end),
                            "differ": differ,
                        }
                    )
                tables[table] = {
                    "matched": matched,
                    "only_a": [a[i].id for i in range(len(a)) if i not in {p[0] for p in pairs}],
                    "only_b": [b[j].id for j in range(len(b)) if j not in {p[1] for p in pairs}],
                }
            comparisons.append({"stem": stem, "a": x, "b": y, "tables": tables})
    report["annotations"] = annotations
    report["comparisons"] = comparisons
    return report


def display(value: float | None, items: int | None = None) -> str:
    """Format a figure: three decimals; ``n/a (k items)`` for an alpha that is not given."""
    if value is None:
        return f"n/a ({items} item{'s' * (items != 1)})" if items is not None else "n/a"
    return f"{value:.3f}"


def load_annotations(
    seeds_dir: Path,
) -> tuple[dict[str, dict[str, Article]], list[Problem]]:
    """Load every annotator's file under ``seeds_dir/annotators/`` (the I/O edge).

    Returns:
        Stem -> annotator -> article, and every problem of the files (their articles left out).
    """
    found, problems = annotator_files(seeds_dir)
    articles: dict[str, dict[str, Article]] = {}
    for name, path in found:
        article, file_problems = load_article(path)
        problems.extend(file_problems)
        if article is not None:
            articles.setdefault(article.stem, {})[name] = article
    return articles, problems


def render_text(figures: Mapping[str, Any], *, markdown: bool = False) -> str:
    """Return the figures of :func:`agreement` as tables.

    Args:
        figures: What :func:`agreement` returned.
        markdown: Markdown (GitHub tables, ``###`` headings: for the data card) instead of
            plain text (``factpack agree``).
    """
    import textwrap

    from tabulate import tabulate

    fmt = "github" if markdown else "simple"

    def table(rows: list[list[Any]], headers: list[str]) -> str:
        align = ("left",) + ("right",) * (len(headers) - 1)
        return tabulate(rows, headers=headers, tablefmt=fmt, colalign=align, disable_numparse=True)

    n = len(figures["articles"])
    pairs = figures["pairs"]
    intro = [
        f"{n} article{'s' * (n != 1)} with two or more annotations, {pairs} pair"
        f"{'s' * (pairs != 1)} of annotators compared; the first annotator of a pair (in name "
        "order) is the reference for precision and recall.",
        f"Matching: {figures['matching']}",
        f"Alpha (Krippendorff, nominal) is n/a where it rests on fewer than "
        f"{figures['min_alpha_items']} items or on one category only.",
    ]
    out = [line for text in intro for line in [*textwrap.wrap(text, 100), ""]]
    for name, body in figures["tables"].items():
        out.append(f"### {name}" if markdown else f"== {name} ==")
        if markdown:
            out.append("")
        spans = []
        for kind, s in body["spans"].items():
            ratios = [display(s["precision"]), display(s["recall"]), display(s["f1"])]
            spans.append([kind, *ratios, s["matched"], s["items_a"], s["items_b"]])
        headers = ["spans", "precision", "recall", "F1", "matched", "items a", "items b"]
        out += [table(spans, headers), ""]
        codes = [
            [f, display(c["alpha"], c["items"]), display(c["agreement"]), c["items"]]
            for f, c in body["codes"].items()
        ]
        out += [table(codes, ["code (matched items)", "alpha", "agreement", "items"]), ""]
        if body["references"]:
            refs = [
                [label, display(r["agreement"]), r["items"]]
                for label, r in body["references"].items()
            ]
            out += [table(refs, ["reference (matched items)", "agreement", "items"]), ""]
    return "\n".join(out).rstrip("\n")
