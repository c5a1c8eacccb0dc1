"""Released versions never change: the record, ``factpack bump`` and the changelog.

``schema/releases.yaml`` (committed) records every released version: the package name, the
version, its date and the sha256 of the release's ``SHA256SUMS`` (which covers every file of the
release folder but the ``.duckdb``). The build is byte-reproducible, so rebuilding a recorded
version must give exactly those bytes; :func:`enforce_recorded` fails the build otherwise
(before anything is published) and says how to go on: ``factpack bump``.

``schema/changelog.md`` (committed) holds one section per version: the maintainers' note and
the row-level changes against the previous release (:mod:`factpack.researcher.diff`). The build
copies it into every release as ``CHANGELOG.md``, so a fresh clone rebuilds it without the
previous release.

Pure functions from texts to texts; the few that read or write files say so.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from factpack.researcher.diff import ReleaseDiff
from factpack.researcher.releases import Release, find_releases, read_release, version_key
from factpack.shared.problems import FactpackError, display_path
from factpack.shared.schema import Schema, default_root

RECORD_FILE = "releases.yaml"
CHANGELOG_FILE = "changelog.md"
RELEASE_CHANGELOG = "CHANGELOG.md"
SUMS_FILE = "SHA256SUMS"
PARTS = ("major", "minor", "patch")
NOTES_KEY = "release_notes"
"""schema/package.yaml key: a mapping version -> the maintainers' note for that version."""

RECORD_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "factpack record of released versions (schema/releases.yaml)",
    "type": "object",
    "required": ["releases"],
    "additionalProperties": False,
    "properties": {
        "releases": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "version", "date", "sha256"],
                "additionalProperties": False,
                "properties": {
                    "name": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9._-]*$"},
                    "version": {"type": "string", "pattern": r"^\d+\.\d+\.\d+$"},
                    "date": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
                    "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                },
            },
        }
    },
}
"""The JSON Schema every ``schema/releases.yaml`` is checked against."""

RECORD_HEADER = (
    "# Released versions: never edit an entry. `make release` adds one (factpack record);\n"
    "# a build of a recorded version must give a SHA256SUMS of exactly this sha256.\n"
    "# To change the data, `factpack bump patch|minor|major` and release the new version.\n"
)

CHANGELOG_HEADER = (
    "# Changelog\n\n"
    "One section per released version, newest first, written by `make release`\n"
    "(`factpack changelog`): the maintainers' note (`release_notes` in schema/package.yaml,\n"
    "or `make release NOTE=...`) and the rows added, removed and changed against the\n"
    "previous release.\n"
)


@dataclass(frozen=True)
class Recorded:
    """One released version in ``schema/releases.yaml``."""

    name: str
    version: str
    date: str
    sha256: str

    def to_json(self) -> dict[str, str]:
        """Return the entry as written to the record."""
        return {
            "name": self.name,
            "version": self.version,
            "date": self.date,
            "sha256": self.sha256,
        }


# ------------------------------------------------------------------ where things are


def schema_dir_of(schema: Schema) -> Path:
    """Return the directory ``schema`` was loaded from (that of its package.yaml)."""
    for path in schema.files:
        if Path(path).name == "package.yaml":
            return Path(path).parent
    return default_root()


def record_path(schema_dir: Path | None = None) -> Path:
    """Return ``<schema_dir>/releases.yaml`` (default: the repository's schema/)."""
    return (schema_dir if schema_dir is not None else default_root()) / RECORD_FILE


def changelog_path(schema_dir: Path | None = None) -> Path:
    """Return ``<schema_dir>/changelog.md`` (default: the repository's schema/)."""
    return (schema_dir if schema_dir is not None else default_root()) / CHANGELOG_FILE


# ------------------------------------------------------------------ the record


def _node_line(node: yaml.Node | None, path: Sequence[Any]) -> int:
    """Return the 1-based line of the YAML node at ``path`` (its deepest existing parent)."""
    if node is None:
        return 1
    line = node.start_mark.line + 1
    for step in path:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == step), None)
            if child is None:
                break
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int):
            if step >= len(node.value):
                break
            child = node.value[step]
        else:
            break
        node = child
        line = node.start_mark.line + 1
    return line


def parse_record(text: str, source: str) -> list[Recorded]:
    """Parse and check the text of a releases record against :data:`RECORD_SCHEMA`.

    Raises:
        FactpackError: Invalid YAML, a schema violation or a version recorded twice, as
            ``file:line: what; fix``.
    """
    import jsonschema

    try:
        data = yaml.safe_load(text)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        raise FactpackError(f"{source}:{line}: invalid YAML; fix the syntax") from None
    validator = jsonschema.Draft202012Validator(RECORD_SCHEMA)
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        line = _node_line(node, list(error.absolute_path))
        where = "/".join(str(p) for p in error.absolute_path) or "the file"
        raise FactpackError(
            f"{source}:{line}: {where}: {error.message}; the record is written by "
            "`factpack record`: restore it from git (`git checkout -- schema/releases.yaml`)"
        )
    entries = [Recorded(**item) for item in data["releases"]]
    seen: set[tuple[str, str]] = set()
    for n, entry in enumerate(entries):
        if (entry.name, entry.version) in seen:
            line = _node_line(node, ["releases", n])
            raise FactpackError(
                f"{source}:{line}: {entry.name} {entry.version} is recorded twice; "
                "keep the first entry (restore the file from git)"
            )
        seen.add((entry.name, entry.version))
    return entries


def render_record(entries: Sequence[Recorded]) -> str:
    """Return the text of ``schema/releases.yaml``: header, then entries oldest first."""
    ordered = sorted(entries, key=lambda e: (e.name, version_key(e.version)))
    body = yaml.safe_dump(
        {"releases": [e.to_json() for e in ordered]},
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=1000,
    )
    return RECORD_HEADER + body


def read_record(path: Path) -> list[Recorded]:
    """Read a releases record (reads the file; a missing file records nothing)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise FactpackError(f"{display_path(path)}: cannot read ({exc.strerror})") from None
    return parse_record(text, display_path(path))


def find_recorded(entries: Sequence[Recorded], name: str, version: str) -> Recorded | None:
    """Return the record of ``name`` ``version``, or None when it was never released."""
    return next((e for e in entries if (e.name, e.version) == (name, version)), None)


def sums_digest(release_dir: Path) -> str:
    """Return the sha256 of the release's SHA256SUMS (reads the file)."""
    path = release_dir / SUMS_FILE
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise FactpackError(
            f"{display_path(path)}: cannot read ({exc.strerror}); build the release first "
            "(`make dataset`)"
        ) from None


def _sums_lines(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        digest, _, rel = line.partition("  ")
        if rel:
            out[rel] = digest
    return out


def differing_files(new_sums: str, old_sums: str, limit: int = 3) -> list[str]:
    """Return the first ``limit`` files (sorted) whose sha256 differ or that one side lacks.

    >>> differing_files("aa  a\\nbb  b\\n", "aa  a\\ncc  b\\ndd  c\\n")
    ['b', 'c']
    """
    new, old = _sums_lines(new_sums), _sums_lines(old_sums)
    return sorted(f for f in {*new, *old} if new.get(f) != old.get(f))[:limit]


def check_recorded(schema: Schema, release_dir: Path, previous: Path | None = None) -> str | None:
    """Return why the built ``release_dir`` may not be published, or None when it may.

    A version in ``schema/releases.yaml`` may only be rebuilt to exactly its recorded bytes.

    Args:
        schema: The schema the release was built from (its directory holds the record).
        release_dir: The built (staged) release, SHA256SUMS written.
        previous: The published copy of the same version (``dist/<name>-<version>``), if any:
            its SHA256SUMS names the files that differ.

    Returns:
        One line naming the version, the first differing files and how to go on.
    """
    name, version = str(schema.package["name"]), str(schema.package["version"])
    path = record_path(schema_dir_of(schema))
    recorded = find_recorded(read_record(path), name, version)
    if recorded is None:
        return None
    if sums_digest(release_dir) == recorded.sha256:
        return None
    old_sums = previous / SUMS_FILE if previous is not None else None
    if (
        old_sums is not None
        and old_sums.is_file()
        and sums_digest(old_sums.parent) == recorded.sha256
    ):
        files = differing_files(
            (release_dir / SUMS_FILE).read_text(encoding="utf-8"),
            old_sums.read_text(encoding="utf-8"),
        )
        what = f"first differing files: {', '.join(files)}"
    else:
        what = "no copy of the recorded release in dist/ to name the differing files"
    return (
        f"{display_path(path)}: {name} {version} was released on {recorded.date} and a released "
        f"version never changes, but this build differs ({what}); run `factpack bump patch` "
        f"(or minor, major) to release the change as a new version, or restore the inputs of "
        f"{version}; dist/ is left as it was"
    )


def enforce_recorded(schema: Schema, release_dir: Path, previous: Path | None = None) -> None:
    """Raise when :func:`check_recorded` finds the build differs from its recorded version.

    The build calls this after SHA256SUMS is written and before publishing.

    Raises:
        FactpackError: The one-line failure of :func:`check_recorded`.
    """
    failure = check_recorded(schema, release_dir, previous)
    if failure is not None:
        raise FactpackError(failure)


def record_release(release_dir: Path, schema_dir: Path | None = None) -> tuple[Path, bool]:
    """Add the release in ``release_dir`` to ``schema/releases.yaml`` (reads, writes the file).

    Returns:
        The record's path and whether it changed (False: already recorded with these bytes).

    Raises:
        FactpackError: The version is recorded with other bytes.
    """
    release = read_release(release_dir)
    path = record_path(schema_dir)
    entries = read_record(path)
    digest = sums_digest(release_dir)
    known = find_recorded(entries, release.name, release.version)
    if known is not None:
        if known.sha256 == digest:
            return path, False
        raise FactpackError(
            f"{display_path(path)}: {release.name} {release.version} is recorded with other "
            f"bytes (released {known.date}); a released version never changes: "
            "run `factpack bump patch` and release again"
        )
    entry = Recorded(release.name, release.version, release.created[:10], digest)
    path.write_text(render_record([*entries, entry]), encoding="utf-8", newline="\n")
    return path, True


def own_schema(
    dst: Path, name: str | None = None, source: Path | None = None, text_policy: str | None = None
) -> Path:
    """Copy a schema directory for builds that are not the repository's (tests, the bench).

    The copy records no released version and has an empty changelog, so such a build is never
    held to the repository's record; ``name`` replaces the package name (a ``name:`` line) and
    ``text_policy`` the package's text policy (its ``text_policy:`` line).
    Reads ``source`` (default: the repository's schema/), writes ``dst``.
    """
    import shutil

    shutil.copytree(source if source is not None else default_root(), dst, dirs_exist_ok=True)
    (dst / RECORD_FILE).write_text(render_record([]), encoding="utf-8", newline="\n")
    (dst / CHANGELOG_FILE).write_text(CHANGELOG_HEADER, encoding="utf-8", newline="\n")
    if name is not None:
        package = dst / "package.yaml"
        text = package.read_text(encoding="utf-8")
        new, count = re.subn(r"^name:.*$", f"name: {name}", text, count=1, flags=re.M)
        if not count:
            raise FactpackError(f"{display_path(package)}: no top-level `name:` line")
        package.write_text(new, encoding="utf-8", newline="\n")
    if text_policy is not None:
        package = dst / "package.yaml"
        text = package.read_text(encoding="utf-8")
        line = f"text_policy: {text_policy}"
        new, count = re.subn(r"^text_policy:.*$", line, text, count=1, flags=re.M)
        package.write_text(new if count else f"{text.rstrip()}\n{line}\n", "utf-8", newline="\n")
    return dst


# ------------------------------------------------------------------ factpack bump

_VERSION_LINE = re.compile(
    r"^version:[ \t]*(?P<q>[\"']?)(?P<v>[^\"'\s#]+)(?P=q)(?P<rest>[ \t]*(?:#.*)?)$", re.M
)
_CREATED_LINE = re.compile(
    r"^created:[ \t]*(?P<q>[\"']?)(?P<v>[^\"'\s#]+)(?P=q)(?P<rest>[ \t]*(?:#.*)?)$", re.M
)


def next_version(version: str, part: str) -> str:
    """Return ``version`` with its ``part`` (major, minor, patch) raised, the later ones reset.

    >>> next_version("0.1.3", "minor")
    '0.2.0'

    Raises:
        FactpackError: ``version`` is not MAJOR.MINOR.PATCH, or ``part`` is unknown.
    """
    from packaging.version import InvalidVersion, Version

    if part not in PARTS:
        raise FactpackError(f"cannot bump {part!r}; use one of {', '.join(PARTS)}")
    try:
        parsed = Version(version)
    except InvalidVersion:
        parsed = None
    if parsed is None or len(parsed.release) != 3 or str(parsed) != version:
        raise FactpackError(f"version {version!r} is not MAJOR.MINOR.PATCH (e.g. 0.1.0)")
    major, minor, patch = parsed.release
    if part == "major":
        return f"{major + 1}.0.0"
    if part == "minor":
        return f"{major}.{minor + 1}.0"
    return f"{major}.{minor}.{patch + 1}"


def bump_text(text: str, part: str, today: dt.date, source: str) -> tuple[str, str, str]:
    """Raise the version of a package.yaml text and set ``created`` to ``today`` (UTC midnight).

    Only the two lines change; comments and the rest of the file are kept byte for byte.

    Returns:
        The new text, the old version and the new version.

    Raises:
        FactpackError: No top-level ``version:`` line, or it is not MAJOR.MINOR.PATCH.
    """
    found = _VERSION_LINE.search(text)
    if found is None:
        raise FactpackError(
            f"{source}: no top-level `version: MAJOR.MINOR.PATCH` line; add one (e.g. 0.1.0)"
        )
    old = found.group("v")
    line = text.count("\n", 0, found.start()) + 1
    try:
        new = next_version(old, part)
    except FactpackError as exc:
        raise FactpackError(f"{source}:{line}: {exc}") from None
    q = found.group("q")
    line_text = f"version: {q}{new}{q}{found.group('rest')}"
    text = text[: found.start()] + line_text + text[found.end() :]
    created = _CREATED_LINE.search(text)
    if created is not None:
        q = created.group("q") or '"'
        stamp = f"{today.isoformat()}T00:00:00Z"
        text = (
            text[: created.start()]
            + f"created: {q}{stamp}{q}{created.group('rest')}"
            + text[created.end() :]
        )
    return text, old, new


def bump(part: str, today: dt.date, schema_dir: Path | None = None) -> tuple[Path, str, str]:
    """Edit ``schema/package.yaml``: the next version, created today (reads, writes the file).

    Raises:
        FactpackError: As :func:`bump_text`, or the new version is already recorded.
    """
    root = schema_dir if schema_dir is not None else default_root()
    path = root / "package.yaml"
    source = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FactpackError(f"{source}: cannot read ({exc.strerror})") from None
    new_text, old, new = bump_text(text, part, today, source)
    name = str((yaml.safe_load(text) or {}).get("name", ""))
    if find_recorded(read_record(record_path(root)), name, new) is not None:
        raise FactpackError(
            f"{display_path(record_path(root))}: {name} {new} is released already; "
            "bump a higher part (minor or major)"
        )
    path.write_text(new_text, encoding="utf-8", newline="\n")
    return path, old, new


# ------------------------------------------------------------------ the changelog


def previous_release(dist: Path, name: str, version: str) -> Release | None:
    """Return the newest release of ``name`` in ``dist`` older than ``version`` (reads dist/)."""
    older = [
        r
        for r in find_releases(dist)
        if r.name == name and version_key(r.version) < version_key(version)
    ]
    return older[-1] if older else None


def require_recorded_previous(
    record: Sequence[Recorded], old: Release | None, new: Release, dist: Path
) -> None:
    """Check the changelog compares ``new`` with the last recorded older version, as released.

    Raises:
        FactpackError: An older version is recorded but ``dist`` lacks it, holds another
            (newer unrecorded) one, or holds it with other bytes than recorded.
    """
    older = [
        e
        for e in record
        if e.name == new.name and version_key(e.version) < version_key(new.version)
    ]
    if not older:
        return
    last = max(older, key=lambda e: version_key(e.version))
    where = display_path(dist)
    fetch = (
        f"put the release {last.version} in {where}/ (`factpack download {last.version} "
        f"--to {where} --index URL`, or build it from the commit that released it)"
    )
    if old is None or old.version != last.version:
        found = f"it has {old.version}" if old is not None else "it has no older release"
        raise FactpackError(
            f"{where}: the changelog of {new.version} compares with the last released version "
            f"{last.version}, but {found}; {fetch}"
        )
    if sums_digest(old.path) != last.sha256:
        raise FactpackError(
            f"{display_path(old.path)}: not the release recorded as {last.version} (its "
            f"SHA256SUMS differs from schema/releases.yaml); {fetch}"
        )


def release_note(package: dict[str, Any] | Any, version: str) -> str:
    """Return the maintainers' note for ``version`` from package.yaml (``release_notes``)."""
    notes = package.get(NOTES_KEY) if isinstance(package, dict) else None
    if isinstance(notes, dict):
        value = notes.get(version)
        if value is not None:
            return str(value).strip()
    return ""


def _ids(keys: Sequence[dict[str, Any]]) -> str:
    return ", ".join(f"`{','.join(str(v) for v in k.values())}`" for k in keys)


def changelog_section(
    version: str,
    date: str,
    note: str,
    diff: ReleaseDiff | None,
) -> str:
    """Return the changelog section of one version (Markdown, ends with a newline).

    Args:
        version: The new version.
        date: Its date (YYYY-MM-DD).
        note: The maintainers' note ("" when there is none: the section says so).
        diff: The changes against the previous release, None for the first release.
    """
    lines = [f"## {version} ({date})", ""]
    lines += [note if note else "No note from the maintainers for this version.", ""]
    if diff is None:
        lines += ["First release: every row is new.", ""]
        return "\n".join(lines)
    lines += [f"Changes against {diff.old}:", ""]
    lines += ["| table | added | removed | changed | changed columns |", "|---|---|---|---|---|"]
    for t in diff.tables:
        cols = ", ".join(sorted({c for ch in t.changed for c in ch.columns}))
        counts = f"{len(t.added)} | {len(t.removed)} | {len(t.changed)}"
        lines.append(f"| {t.table} | {counts} | {cols} |")
    lines.append("")
    details = []
    for t in diff.tables:
        if t.columns_added:
            details.append(f"- {t.table}: columns added: {', '.join(t.columns_added)}")
        if t.columns_removed:
            details.append(f"- {t.table}: columns removed: {', '.join(t.columns_removed)}")
        if t.added:
            details.append(f"- {t.table} added: {_ids(t.added)}")
        if t.removed:
            details.append(f"- {t.table} removed: {_ids(t.removed)}")
        for ch in t.changed:
            details.append(f"- {t.table} changed: {_ids([ch.key])} ({', '.join(ch.columns)})")
    if not details:
        details = ["No row changed."]
    lines += [*details, ""]
    return "\n".join(lines)


_SECTION = re.compile(r"^## (\S+)", re.M)


def merge_section(changelog: str, version: str, section: str) -> str:
    """Return the changelog with ``version``'s section replaced or added (newest first).

    Sections start at ``## <version>`` lines; the text before the first one is kept.
    """
    text = changelog if changelog.strip() else CHANGELOG_HEADER
    starts = [(m.start(), m.group(1)) for m in _SECTION.finditer(text)]
    head = text[: starts[0][0]] if starts else text.rstrip("\n") + "\n\n"
    sections = {
        v: text[s : (starts[i + 1][0] if i + 1 < len(starts) else len(text))].rstrip("\n") + "\n"
        for i, (s, v) in enumerate(starts)
    }
    sections[version] = section.rstrip("\n") + "\n"
    ordered = sorted(sections, key=version_key, reverse=True)
    return head + "\n".join(sections[v] for v in ordered)


def release_changelog(schema: Schema) -> str:
    """Return the text the build copies into the release as CHANGELOG.md (reads the file)."""
    path = changelog_path(schema_dir_of(schema))
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return CHANGELOG_HEADER + "\nNo version has been released yet.\n"


def card_section(changelog: str, version: str) -> str:
    """Return the data card's "Changelog" section: this version's entry and where the rest is.

    >>> print(card_section("# Changelog\\n\\n## 0.2.0 (2026-12-06)\\n\\nFixed.\\n", "0.2.0"))
    ## Changelog
    <BLANKLINE>
    ### 0.2.0 (2026-12-06)
    <BLANKLINE>
    Fixed.
    <BLANKLINE>
    Every version: `CHANGELOG.md`.
    <BLANKLINE>
    """
    starts = [(m.start(), m.group(1)) for m in _SECTION.finditer(changelog)]
    body = ""
    for i, (s, v) in enumerate(starts):
        if v == version:
            end = starts[i + 1][0] if i + 1 < len(starts) else len(changelog)
            body = "#" + changelog[s:end].strip("\n")
    if not body:
        body = f"No changelog entry for {version} yet (it is written by `make release`)."
    return f"## Changelog\n\n{body}\n\nEvery version: `{RELEASE_CHANGELOG}`.\n"


def write_changelog(
    release_dir: Path,
    dist: Path,
    note: str | None = None,
    schema_dir: Path | None = None,
) -> tuple[Path, bool, str | None]:
    """Write the section of the release in ``release_dir`` into ``schema/changelog.md``.

    The changes are against the newest older release of the same name in ``dist``; the note
    is ``note`` or ``release_notes[version]`` of package.yaml. Reads and writes files.

    Returns:
        The changelog path, whether it changed, and the previous version (None: first).
    """
    from factpack.researcher.diff import diff_releases

    new = read_release(release_dir)
    old = previous_release(dist, new.name, new.version)
    root = schema_dir if schema_dir is not None else default_root()
    require_recorded_previous(read_record(record_path(root)), old, new, dist)
    diff = diff_releases(old, new) if old is not None else None
    package = yaml.safe_load((root / "package.yaml").read_text(encoding="utf-8")) or {}
    text_note = note if note is not None else release_note(package, new.version)
    section = changelog_section(new.version, new.created[:10], text_note, diff)
    path = changelog_path(root)
    current = path.read_text(encoding="utf-8") if path.is_file() else ""
    merged = merge_section(current, new.version, section)
    if merged != current:
        path.write_text(merged, encoding="utf-8", newline="\n")
    return path, merged != current, old.version if old is not None else None
