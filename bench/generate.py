"""Generate a synthetic annotated corpus in the seed format, deterministically.

Each article is a pair ``<dir>/<NNNNNN>_<16 hex>.txt`` (the verbatim text) and ``.yaml`` (its
annotation, docs/annotation-format.md). Article ``i`` depends only on ``(seed, i)``, so a
corpus is the same bytes however many processes write it, and the first ``n`` articles of a
larger corpus are the corpus of size ``n``.

What every article holds: a 2,000-8,000 character text (headline first line; curly quotes,
accented names, a few characters outside the BMP), 5-40 annotations across sources, events and
claims, claim-to-event and claim-to-claim references, page furniture, and quote selectors
that resolve to exactly one place (a prefix or suffix is added where the exact text recurs).
The vocabularies are read from ``schema/vocabularies.yaml``; the first item of each kind in
article ``i`` takes value ``i mod len(vocabulary)``, so any corpus of at least 25 articles uses
every value (the rest are drawn at random).

Usage: ``python -m bench.generate N DIR [--seed S] [--jobs J]``.
"""

from __future__ import annotations

import argparse
import calendar
import datetime as dt
import hashlib
import json
import multiprocessing
import os
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SEED = 20231103
MIN_CHARS, MAX_CHARS = 2000, 8000
MIN_ITEMS, MAX_ITEMS = 5, 40

FIRST = (
    "José", "Zoë", "Łukasz", "Søren", "Ana Lúcia", "François", "Olena", "Dmytro", "Aïcha",
    "Björn", "Chloé", "Mehmet", "Ingrid", "Tomás", "Yusuf", "Marta", "Kenji", "Amara", "Pavel",
    "Siobhán", "Jürgen", "Inés", "Oksana", "Rafał", "Hélène", "Mikhail", "Leila", "Ørjan",
    "Darío", "Nguyễn Thị",
)  # fmt: skip
LAST = (
    "Álvarez", "Müller", "Wróbel", "Kierkegård", "Gonçalves", "Lefèvre", "Kovalenko",
    "Bondarenko", "Haddad", "Ståhl", "Dubois", "Yılmaz", "Østergaard", "Ibáñez", "Şahin",
    "Nowak", "Tanaka", "Okafor", "Novák", "Ó Briain", "Schäfer", "Peña", "Shevchenko",
    "Zieliński", "Moreau", "Petrov", "Karimi", "Hansen", "Fernández", "Mai",
)  # fmt: skip
ROLES = ("spokesman", "minister", "commander", "governor", "analyst", "mayor", "adviser")
# (country name, ISO code, IANA zone, capital, (lat, lon) of the capital)
COUNTRIES = (
    ("Ukraine", "UA", "Europe/Kyiv", "Kyiv", (50.45, 30.52)),
    ("Russia", "RU", "Europe/Moscow", "Moscow", (55.76, 37.62)),
    ("the United States", "US", "America/New_York", "Washington", (38.9, -77.04)),
    ("the United Kingdom", "GB", "Europe/London", "London", (51.51, -0.13)),
    ("France", "FR", "Europe/Paris", "Paris", (48.86, 2.35)),
    ("Poland", "PL", "Europe/Warsaw", "Warsaw", (52.23, 21.01)),
    ("Türkiye", "TR", "Europe/Istanbul", "Ankara", (39.93, 32.86)),
    ("Côte d’Ivoire", "CI", "Africa/Abidjan", "Yamoussoukro", (6.82, -5.28)),
    ("São Tomé and Príncipe", "ST", "Africa/Sao_Tome", "São Tomé", (0.34, 6.73)),
    ("Japan", "JP", "Asia/Tokyo", "Tokyo", (35.68, 139.69)),
    ("Nigeria", "NG", "Africa/Lagos", "Abuja", (9.08, 7.4)),
    ("Nepal", "NP", "Asia/Kathmandu", "Kathmandu", (27.72, 85.32)),
    ("Brazil", "BR", "America/Sao_Paulo", "Brasília", (-15.79, -47.88)),
)  # fmt: skip
SITES = ("the central railway station", "the port", "the old town hall", "the power plant",
         "the university campus", "the airfield", "the bridge over the river")  # fmt: skip
REGIONS = ("the northern region", "the border province", "the coastal district",
           "the eastern oblast")  # fmt: skip
TOPICS = ("Conflict", "Security", "Peace", "Strategic", "Humanitarian", "Border", "Defence")
PUBLISHERS = ("The Daily Courier", "Le Quotidien", "Gazeta Poranna", "The Evening Ledger",
              "Der Morgenbote", "El Diario del Sur", "The Northern Herald")  # fmt: skip
SIGNS = ("🚀", "🇺🇦", "𝕏", "🙏", "𠜎")  # characters outside the Basic Multilingual Plane
FILLER = (
    "The situation remained tense throughout the day.",
    "Officials gave no further details when asked by reporters.",
    "Local media carried live updates well into the evening.",
    "It was not immediately clear how the account could be verified.",
    "Traffic in the city centre was diverted while crews cleared the area.",
    "Schools in the area stayed open, according to a notice posted at the gates.",
    "Analysts cautioned that early reports are often revised.",
    "Neighbours described a long night of sirens and waiting.",
    "The government’s critics said the response had been slow.",
    "Markets barely moved on the news.",
    "Aid groups said they were preparing supplies in case they were needed.",
    "Photographs shared online could not be independently confirmed.",
)  # fmt: skip
CUES = {
    "accusation": ("accused others, saying", "claimed", "alleged", "blamed others, saying"),
    "denial": ("denied", "rejected the idea", "dismissed suggestions"),
    "assertion": ("said", "stated", "announced"),
    "assessment": ("assessed", "concluded", "believes"),
    "observation": ("showed", "reported seeing", "described seeing"),
    "demand": ("demanded", "urged", "called for action, saying"),
}
HEDGES = {"certain": "", "probable": "likely ", "possible": "possibly "}
EVENT_VERBS = {
    "Armed clash": "fought a prolonged exchange of fire with",
    "Air/drone strike": "launched drones at",
    "Shelling/artillery/missile attack": "shelled",
    "Peaceful protest": "marched peacefully past",
    "Arrests": "detained members of",
    "Agreement": "signed an agreement with",
    "Disrupted weapons use": "intercepted weapons aimed at",
}


@dataclass(frozen=True)
class Vocabularies:
    """The controlled vocabularies: values in file order, and each sub-event type's parent."""

    values: dict[str, tuple[str, ...]]
    parent: dict[str, str]


def load_vocabularies(path: Path | None = None) -> Vocabularies:
    """Read ``schema/vocabularies.yaml``."""
    path = path or ROOT / "schema" / "vocabularies.yaml"
    doc = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    values = {name: tuple(v["values"]) for name, v in doc.items()}
    parent = {k: v["parent"] for k, v in doc["sub_event_type"]["values"].items()}
    return Vocabularies(values, parent)


def article_stem(seed: int, index: int) -> str:
    """Return the file stem of article ``index``: ``<NNNNNN>_<16 hex>``."""
    digest = hashlib.sha256(f"factpack-bench:{seed}:{index}".encode()).hexdigest()
    return f"{index:06d}_{digest[:16]}"


def _fold(s: str) -> str:
    """Fold quotes like factpack.pipeline.selectors does (the text here has no white-space runs)."""
    for a, b in _FOLD:
        if a in s:
            s = s.replace(a, b)
    return s


_FOLD = [(c, "'") for c in "‘’‛′"] + [(c, '"') for c in "“”„″"] + [("\n", " ")]


class _Text:
    """A text built sentence by sentence, remembering where each sentence starts."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0

    def add(self, s: str, sep: str = " ") -> int:
        if self.parts:
            self.parts.append(sep)
            self.length += len(sep)
        start = self.length
        self.parts.append(s)
        self.length += len(s)
        return start

    def value(self) -> str:
        return "".join(self.parts)


def _count(folded: str, needle: str) -> int:
    n, i = 0, folded.find(needle)
    while i >= 0:
        n += 1
        i = folded.find(needle, i + 1)
    return n


def selector(text: str, folded: str, start: int, end: int, straight: bool = False) -> dict:
    """Return a quote selector for ``text[start:end]`` that matches only there.

    The exact text alone when it occurs once; otherwise a suffix (or, failing that, a prefix)
    grown until the pair occurs once. ``straight`` writes the exact with straight quotes (the
    resolver matches them against curly ones).
    """
    exact = text[start:end]
    sel: dict[str, str] = {"exact": _fold(exact) if straight else exact}
    fe = folded[start:end]
    if _count(folded, fe) == 1:
        return sel
    for k in (16, 32, 64, 128, len(text)):
        stop = min(len(text), end + k)
        want = folded[end:stop].lstrip(" ")  # the resolver allows white space before it
        if want.strip() and _count(folded, fe + want) + _count(folded, fe + " " + want) == 1:
            sel["suffix"] = text[end:stop]
            return sel
    for k in (16, 32, 64, 128, len(text)):
        begin = max(0, start - k)
        want = folded[begin:start].rstrip(" ")
        if want.strip() and _count(folded, want + fe) + _count(folded, want + " " + fe) == 1:
            sel["prefix"] = text[begin:start]
            return sel
    raise AssertionError(f"no unique selector for {exact!r}")  # pragma: no cover


def _pick(rng: random.Random, values: Sequence[str], index: int, first: bool) -> str:
    return values[index % len(values)] if first else rng.choice(values)


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def _add_days(d: dt.date, days: int) -> dt.date:
    return d + dt.timedelta(days=days)


def build_article(seed: int, index: int, vocab: Vocabularies) -> tuple[str, str, str]:
    """Return ``(stem, text, annotation YAML)`` of article ``index``."""
    rng = random.Random(f"{seed}:{index}")
    stem = article_stem(seed, index)
    v = vocab.values
    total = rng.randint(MIN_ITEMS, MAX_ITEMS)
    n_sources = max(1, round(total * 0.25))
    n_events = max(1, round(total * 0.2))
    n_claims = total - n_sources - n_events
    target_len = rng.randint(MIN_CHARS + 200, MAX_CHARS - 400)
    serial = iter(range(rng.randrange(10, 5000), 20000, 7))  # a distinct number per sentence

    country = rng.choice(COUNTRIES)
    publisher = rng.choice(PUBLISHERS)
    pub_date = dt.date(2015, 1, 1) + dt.timedelta(days=rng.randrange(3650))
    pub_basis = v["date_basis"][index % len(v["date_basis"])]
    if pub_basis == "unknown":
        published: str | None = None
    else:
        published = pub_date.isoformat()

    # --- sources -------------------------------------------------------------------------
    names_used: set[str] = set()
    sources: list[dict[str, Any]] = []
    for j in range(n_sources):
        kind = _pick(rng, v["source_kind"], index, j == 0)
        c = rng.choice(COUNTRIES)
        role = affiliation = None
        named = True
        n = next(serial)
        if kind == "person":
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            role = rng.choice(ROLES)
            affiliation = f"the {rng.choice(TOPICS)} Ministry of {c[0].removeprefix('the ')}"
            intro = f"{name}, {role} with {affiliation}, has spoken on the matter {n} times."
        elif kind == "government":
            name = f"the government of {c[0]}"
            intro = f"{_cap(name)} issued {n} statements over the period."
        elif kind == "organisation":
            name = f"the Institute for {rng.choice(TOPICS)} Studies in {c[3]}"
            intro = f"{_cap(name)} has tracked the conflict for {n} months."
        elif kind == "group":
            name = f"residents of {rng.choice(COUNTRIES)[3]}"
            named = False
            intro = f"{_cap(name)}, some {n} of whom gathered outside, spoke to reporters."
        elif kind == "media":
            name = rng.choice(PUBLISHERS)
            intro = f"{name} sent {n} reporters to the area."
        elif kind == "footage":
            name = f"footage filmed in {c[3]}"
            named = False
            intro = f"{_cap(name)} circulated widely, viewed {n} thousand times."
        else:
            name = f"a post on {SIGNS[2]} by the {rng.choice(TOPICS).lower()} office"
            named = False
            intro = f"{_cap(name)} was shared {n} times within an hour."
        if name.lower() in names_used:
            name = f"{name} ({n})"
            intro = f"{_cap(name)} was mentioned {n} times in the coverage."
        names_used.add(name.lower())
        sources.append(
            {
                "source_id": f"S{j + 1}",
                "name": name,
                "source_kind": kind,
                "role": role,
                "affiliation": affiliation,
                "country": c[1] if kind in ("person", "government") else None,
                "is_named": named,
                "wikidata_qid": None,
                "_intro": intro,
                "_mention": _cap(name),  # how the intro sentence starts
            }
        )

    # --- events --------------------------------------------------------------------------
    events: list[dict[str, Any]] = []
    for j in range(n_events):
        first = j == 0
        sub = _pick(rng, v["sub_event_type"], index, first)
        precision = _pick(rng, v["date_precision"], index, first)
        geo = _pick(rng, v["geo_precision"], index, first)
        c = rng.choice(COUNTRIES)
        n = next(serial)
        after = first and index % 11 == 5 and published is not None  # reported in advance
        day = _add_days(pub_date, rng.randint(3, 30) if after else -rng.randint(0, 9))
        date_start = date_end = date_note = time_local = tz = None
        basis = "unknown"
        if precision == "unknown":
            when = "At an unknown date"
        else:
            basis = rng.choice([b for b in v["date_basis"] if b != "unknown"])
            if precision == v["date_precision"][0]:  # day
                date_start = date_end = day
                when = f"On {day.day} {day:%B %Y}" if basis == "stated" else f"On {day:%A}"
                if rng.random() < 0.6:
                    time_local = f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}"
                    tz = c[2]
                    when += f" at {time_local}"
            elif precision == v["date_precision"][1]:  # days
                date_start, date_end = day, _add_days(day, rng.randint(1, 5))
                when = f"Between {date_start:%d %B} and {date_end:%d %B %Y}"
            elif precision == v["date_precision"][2]:  # month
                last = calendar.monthrange(day.year, day.month)[1]
                date_start, date_end = day.replace(day=1), day.replace(day=last)
                when = f"In {day:%B %Y}"
            else:  # year
                date_start, date_end = dt.date(day.year, 1, 1), dt.date(day.year, 12, 31)
                when = f"In {day.year}"
            if basis == "inferred":
                date_note = f"{when!r} read relative to the publication date {pub_date}."
            if date_start is not None and published and date_start.isoformat() > published:
                date_note = f"Announced in advance; {when!r} is after publication."
        loc: str | None = None
        loc_country: str | None = c[1]
        lat = lon = None
        if geo == "site":
            loc = f"{rng.choice(SITES)}, {c[3]}"
        elif geo == "town":
            loc = c[3]
            if rng.random() < 0.5:
                lat, lon = c[4]
        elif geo == "region":
            loc = f"{rng.choice(REGIONS)} of {c[0].removeprefix('the ')}"
        elif geo == "country":
            loc = c[0].removeprefix("the ")
        else:
            loc_country = None
        actor_c, target = rng.choice(COUNTRIES), rng.choice(SITES)
        actor = f"forces from {actor_c[0].removeprefix('the ')}"
        verb = EVENT_VERBS.get(sub, f"were involved in an incident ({sub.lower()}) at")
        where = f" in {loc}" if loc else ""
        sentence = f"{when}, {actor} {verb} {target}{where}, and {n} people were affected."
        events.append(
            {
                "event_id": f"E{j + 1}",
                "event_type": vocab.parent[sub],
                "sub_event_type": sub,
                "summary": f"{_cap(actor)} {verb} {target}{where}.",
                "factuality": _pick(rng, v["factuality"], index, first),
                "date_start": date_start.isoformat() if date_start else None,
                "date_end": date_end.isoformat() if date_end else None,
                "date_precision": precision,
                "date_basis": basis,
                "date_note": date_note,
                "time_local": time_local,
                "timezone": tz,
                "location_name": loc,
                "country": loc_country,
                "latitude": lat,
                "longitude": lon,
                "geo_precision": geo,
                "actor": actor,
                "target": target,
                "_sentence": sentence,
            }
        )

    # --- claims --------------------------------------------------------------------------
    claims: list[dict[str, Any]] = []
    for j in range(n_claims):
        first = j == 0
        kind = _pick(rng, v["claim_kind"], index, first)
        certainty = _pick(rng, v["certainty"], index, first)
        src = rng.choice(sources)
        ev = rng.choice(events) if rng.random() < 0.7 else None
        n = next(serial)
        hedge = HEDGES.get(certainty, "")
        responds = relation = None
        if j == 1:
            responds, relation = "C1", v["relation"][index % len(v["relation"])]
        elif j > 1 and rng.random() < 0.3:
            responds, relation = f"C{rng.randint(1, j)}", rng.choice(v["relation"])
        direct = rng.random() < 0.35
        target = ev["target"] if ev else "the talks"
        sign = f" {rng.choice(SIGNS)}" if rng.random() < 0.1 else ""
        if direct:
            cue = "said"
            content = (
                f"We don’t accept what happened at {target}; {n} families {hedge}need answers{sign}"
            )
            sentence = f"“{content},” {src['name']} {cue}."
        else:
            cue = rng.choice(CUES.get(kind, ("said",)))
            content = f"the damage to {target} was {hedge}worse than the {n} reports suggested"
            sentence = f"{src['_mention']} {cue} that {content}{sign}."
        claims.append(
            {
                "claim_id": f"C{j + 1}",
                "source_id": src["source_id"],
                "event_id": ev["event_id"] if ev else None,
                "claim_text": content,
                "is_direct_quote": direct,
                "cue": cue,
                "claim_kind": kind,
                "certainty": certainty,
                "responds_to": responds,
                "relation": relation,
                "_sentence": sentence,
                "_straight": direct and rng.random() < 0.5,
            }
        )

    # --- text ----------------------------------------------------------------------------
    title = (
        f"{_cap(events[0]['actor'])} in ‘{events[0]['sub_event_type'].lower()}’ at "
        f"{events[0]['target']}, as {sources[0]['name']} speaks out"
    )
    furniture = [f"MORE ON {country[0].removeprefix('the ').upper()}", f"Most read in {publisher}"]
    items: list[tuple[str, dict[str, Any]]] = [("sources", s) for s in sources]
    items += [("events", e) for e in events]
    rng.shuffle(items)
    items += [("claims", cl) for cl in claims]
    body_len = sum(len(x.get("_intro") or x.get("_sentence") or "") + 1 for _, x in items)
    filler_budget = max(0, target_len - len(title) - body_len - 60)
    text = _Text()
    text.add(title)
    starts: dict[int, int] = {}
    furniture_starts: list[int] = []
    furniture_at = {len(items) // 3: furniture[0], (2 * len(items)) // 3: furniture[1]}
    for k, (_section, item) in enumerate(items):
        if k in furniture_at:
            furniture_starts.append(text.add(furniture_at[k], "\n"))
        sep = "\n" if k % 3 == 0 else " "
        while filler_budget > 0 and rng.random() < 0.5:
            f = rng.choice(FILLER)
            text.add(f, sep)
            sep = " "
            filler_budget -= len(f) + 1
        starts[id(item)] = text.add(item.get("_intro") or item["_sentence"], sep)
    while filler_budget > 0:
        f = rng.choice(FILLER)
        text.add(f, "\n" if rng.random() < 0.3 else " ")
        filler_budget -= len(f) + 1
    text.add(f"Reporting by {publisher} {SIGNS[index % len(SIGNS)]}", "\n")
    body = text.value() + "\n"
    folded = _fold(body)

    for s in sources:
        at = starts[id(s)]
        s["quote"] = selector(body, folded, at, at + len(s["_mention"]))
    for e in events:
        at = starts[id(e)]
        e["quote"] = selector(body, folded, at, at + len(e["_sentence"]))
    for cl in claims:
        at = starts[id(cl)]
        cl["quote"] = selector(body, folded, at, at + len(cl["_sentence"]), cl["_straight"])

    article = {
        "text_sha256": hashlib.sha256(body.encode("utf-8")).hexdigest(),
        "title": title,
        "publisher": publisher,
        "url": f"https://news.example.org/{stem[7:]}" if index % 4 else None,
        "published_date": published,
        "published_date_basis": pub_basis,
        "published_date_note": (
            "Inferred from the dateline of the print edition." if pub_basis == "inferred" else None
        ),
        "language": "en",
        "furniture": [
            selector(body, folded, at, at + len(f))
            for at, f in zip(furniture_starts, furniture, strict=True)
        ],
    }
    return stem, body, _emit(article, sources, events, claims)


def _y(value: Any) -> str:
    """One YAML scalar (strings double-quoted, JSON escapes are valid YAML escapes)."""
    if type(value) is str:
        return _quote(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int | float):
        return repr(value)
    return _quote(value)


_quote = json.encoder.encode_basestring


def _flow(sel: dict[str, str]) -> str:
    return "{" + ", ".join(f"{k}: {_y(v)}" for k, v in sel.items()) + "}"


def _emit(
    article: dict[str, Any],
    sources: list[dict[str, Any]],
    events: list[dict[str, Any]],
    claims: list[dict[str, Any]],
) -> str:
    out = [
        "# Generated by bench/generate.py: a synthetic article for benchmarks, not real news.",
        "format: factpack-annotation/1",
        "article:",
    ]
    for k, val in article.items():
        if k == "furniture":
            out.append("  furniture:")
            out.extend(f"    - {_flow(sel)}" for sel in val)
        else:
            out.append(f"  {k}: {_y(val)}")
    for section, items in (("sources", sources), ("events", events), ("claims", claims)):
        out.append(f"{section}:")
        for item in items:
            lead = "  - "
            for k, val in item.items():
                if k[0] == "_":
                    continue
                out.append(f"{lead}{k}: {_y(val) if k != 'quote' else _flow(val)}")
                lead = "    "
    return "\n".join(out) + "\n"


_VOCAB: Vocabularies | None = None


def _write_range(job: tuple[Path, int, int, int]) -> int:
    """Write articles ``start..stop-1`` into ``out``; return the bytes written."""
    out, seed, start, stop = job
    global _VOCAB
    if _VOCAB is None:
        _VOCAB = load_vocabularies()
    written = 0
    for i in range(start, stop):
        stem, text, ann = build_article(seed, i, _VOCAB)
        t, a = text.encode("utf-8"), ann.encode("utf-8")
        (out / f"{stem}.txt").write_bytes(t)
        (out / f"{stem}.yaml").write_bytes(a)
        written += len(t) + len(a)
    return written


def generate(n: int, out: Path, seed: int = DEFAULT_SEED, jobs: int | None = None) -> int:
    """Write ``n`` articles into ``out`` (created); return the bytes written."""
    out.mkdir(parents=True, exist_ok=True)
    jobs = jobs or os.cpu_count() or 1
    chunk = 500
    work = [(out, seed, s, min(n, s + chunk)) for s in range(0, n, chunk)]
    if jobs == 1 or n <= chunk:
        return sum(_write_range(w) for w in work)
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        return sum(pool.imap_unordered(_write_range, work))


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m bench.generate N DIR``."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("n", type=int, help="number of articles")
    p.add_argument("out", type=Path, help="output directory")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--jobs", type=int, default=None, help="processes (default: all cores)")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    size = generate(args.n, args.out, args.seed, args.jobs)
    took = time.perf_counter() - t0
    print(f"generated {args.n} articles ({size / 1e6:.1f} MB) in {took:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
