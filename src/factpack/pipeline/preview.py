"""``factpack preview <stem>``: one article's review page from its annotation alone.

The article goes through the build's per-article stage (load and check the pair, its rows,
its Arrow tables, its text as the text policy publishes it) and the site's page renderer,
with the parts of the release descriptor the page shows (name, version, title, the tables'
schemas) derived from ``schema/``: the page is byte for byte the one a build publishes for
that article, without building anything else.
"""

from __future__ import annotations

from pathlib import Path

from factpack.pipeline import package
from factpack.pipeline.annotations import annotator_files, load_article
from factpack.pipeline.tables import apply_text_policy, article_rows, article_tables
from factpack.researcher import site
from factpack.shared.problems import FactpackError, Problem, display_path
from factpack.shared.schema import Schema, load_schema, table_schema_descriptor

PREVIEW_DIR = Path("build") / "preview"


class PreviewProblems(FactpackError):
    """The annotation has problems: no page (each problem is one line)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(p.format() for p in problems))
        self.problems = problems


def page_descriptor(schema: Schema) -> dict[str, object]:
    """Return what an article page shows of the release descriptor, derived from ``schema``
    exactly as :func:`factpack.pipeline.package.datapackage_descriptor` writes it."""
    pkg = schema.package
    head = package._clean(
        {"name": pkg["name"], "title": pkg.get("title"), "version": str(pkg["version"])}
    )
    resources = [
        {"name": name, "path": f"data/{name}.parquet", "schema": table_schema_descriptor(table, "")}
        for name, table in schema.tables.items()
    ]
    return {**head, "resources": resources}


def yaml_path_of(stem: str, seeds: Path) -> Path:
    """Return ``seeds/<stem>.yaml`` (``stem`` may also be that path, or the ``.txt``).

    Raises:
        FactpackError: There is no such annotation.
    """
    given = Path(stem)
    path = (
        given.with_suffix(".yaml") if given.suffix in (".yaml", ".txt") else seeds / f"{stem}.yaml"
    )
    if not path.is_file():
        raise FactpackError(
            f"{display_path(path)}: no such annotation; give the stem of a pair in "
            f"{display_path(seeds)}/ (<stem>.yaml + <stem>.txt)"
        )
    return path


def preview_page(yaml_path: Path, schema: Schema) -> str:
    """Return the review page of the article ``yaml_path`` (+ its ``.txt``).

    Raises:
        PreviewProblems: The annotation has problems (``factpack check`` reports the same).
        FactpackError: A value does not fit its column, or the page cannot be rendered.
    """
    article, problems = load_article(yaml_path)
    if article is None or problems:
        raise PreviewProblems(problems)
    tables = article_tables([article_rows(article, schema)], schema)
    # The page shows the text as the release publishes it: null when the policy withholds it.
    _, tables["articles"], _ = apply_text_policy(tables["articles"], schema.text_policy)
    # A build publishes an adjudication page (and links it) for an article that two or more
    # annotators' files cover (seeds/annotators/<name>/<stem>.yaml).
    seeds = yaml_path.parent
    found, _ = annotator_files(seeds)
    adjudicated = sum(1 for _, p in found if p.name == yaml_path.name) >= 2
    return site.page_of_tables(page_descriptor(schema), tables, adjudicated)


def preview(
    stem: str,
    seeds: Path = Path("seeds"),
    out_dir: Path = PREVIEW_DIR,
    schema_dir: Path | None = None,
) -> Path:
    """Write ``out_dir/<stem>.html``, the review page of ``seeds/<stem>.yaml``; return its path.

    Raises:
        FactpackError: As :func:`preview_page`, or the annotation is missing.
    """
    yaml_path = yaml_path_of(stem, seeds)
    page = preview_page(yaml_path, load_schema(schema_dir))
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{yaml_path.stem}.html"
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(page.encode("utf-8"))
    temporary.replace(path)
    return path
