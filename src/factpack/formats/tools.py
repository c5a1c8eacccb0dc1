"""``factpack import`` / ``factpack export``: pick the tool's module, run, report (no printing)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from factpack.formats import brat, doccano, importer, inception, labelstudio
from factpack.formats.common import TOOLS, Document, annotator_name
from factpack.formats.mapping import Mapping_, load_mapping
from factpack.shared.problems import Problem, UsageError, display_path


def _module(tool: str) -> ModuleType:
    modules = {
        "brat": brat,
        "label-studio": labelstudio,
        "doccano": doccano,
        "inception": inception,
    }
    return modules[tool]


EXPORTS: tuple[str, ...] = ("label-studio", "brat", "inception", "doccano")
"""The tools ``factpack export`` writes."""


@dataclass
class ImportReport:
    """What an import did: lines to print, fields left to fill, the checker's problems."""

    lines: list[str] = field(default_factory=list)
    todos: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)


def run_import(
    tool: str,
    paths: Sequence[Path],
    mapping_path: Path,
    to: Path,
    annotator: str | None,
    replace: bool,
) -> ImportReport:
    """Read the exports, map them, write seeds/ files and check them.

    Raises:
        UsageError: the mapping is for another tool, or the annotator name is not safe.
        FormatError: anything wrong in the export or the mapping (one line per problem).
    """
    if tool not in TOOLS:
        raise UsageError(f"unknown format {tool!r}; one of {', '.join(TOOLS)}")
    if annotator is not None and annotator_name(annotator) != annotator:
        raise UsageError(
            f"--annotator {annotator!r}: use lower-case letters, digits, '_' and '-' "
            f"(e.g. {annotator_name(annotator)})"
        )
    mapping: Mapping_ = load_mapping(mapping_path)
    if mapping.tool != tool:
        raise UsageError(
            f"{mapping.shown}: the mapping is for {mapping.tool}, not {tool}; "
            f"give a {tool} mapping (docs/mappings/{tool}.yaml)"
        )
    reader: Callable[..., list[Document]] = _module(tool).read
    documents = reader(paths, mapping)
    batch = importer.import_documents(documents, mapping, annotator=annotator)
    written = importer.write_imported(batch, Path(to), replace=replace)
    report = ImportReport(written=written)
    for imp, path in zip(batch, written, strict=True):
        report.lines.append(
            f"{display_path(path)}: mapped {', '.join(imp.mapped)} from {imp.where}"
        )
        report.lines.extend(f"  skipped {s}" for s in imp.skipped)
        report.todos.extend(f"{display_path(path)}: {t}" for t in imp.todos)
    report.problems = importer.check_written(written, Path(to))
    return report


def run_export(tool: str, paths: Sequence[Path], to: Path) -> list[Path]:
    """Write the annotations under ``paths`` for ``tool`` into ``to``."""
    if tool not in EXPORTS:
        raise UsageError(f"factpack cannot export to {tool}; one of {', '.join(EXPORTS)}")
    module = _module(tool)
    exported: list[Path] = []
    for sub, files in export_groups(paths).items():
        exported.extend(module.export(files, Path(to) / sub))
    return exported


def export_groups(paths: Sequence[Path]) -> dict[Path, list[Path]]:
    """Split the annotations under ``paths`` by whose they are, for separate exports.

    The published annotations (``seeds/<stem>.yaml``) go to the export folder itself; each
    annotator's (``seeds/annotators/<name>/<stem>.yaml``) to ``annotators/<name>/`` in it, so
    two annotations of one article never overwrite each other.

    Raises:
        FormatError: a text without its annotation (exports need clean files).
    """
    from factpack.formats.common import FormatError
    from factpack.pipeline.annotations import ANNOTATORS, annotation_files

    files, problems = annotation_files(paths)
    if problems:
        raise FormatError(
            problems[0].format()
            + f" ({len(problems)} problem(s); run `factpack check`, exports need clean files)"
        )
    groups: dict[Path, list[Path]] = {}
    for path in files:
        own = path.parent.parent.name == ANNOTATORS
        sub = Path(ANNOTATORS) / path.parent.name if own else Path()
        groups.setdefault(sub, []).append(path)
    return groups
