"""``factpack new``: start the annotation of a verbatim article text.

:func:`annotation_skeleton` renders the starting annotation (pure); :func:`new_annotation`
checks the text and writes ``seeds/<stem>.yaml`` beside it, never over an existing file. The
skeleton passes ``factpack check``: empty lists, the publication date unknown, the title taken
from the first line of the text.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from factpack.pipeline.annotations import SAFE_STEM, decode_text
from factpack.shared.problems import FactpackError, display_path
from factpack.shared.schema import ANNOTATION_FORMAT


def _yaml_string(value: str) -> str:
    """Return ``value`` as a YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(value, ensure_ascii=False)


def annotation_skeleton(text: str, raw: bytes, *, language: str = "en") -> str:
    """Return the text of a new annotation for an article.

    Args:
        text: The decoded article text; its first line is the title.
        raw: The bytes of the text file (hashed into ``text_sha256``).
        language: ISO 639-1 code of the text.
    """
    first = text.split("\n", 1)[0].strip()
    title = _yaml_string(first) if first else "null  # fill in: the headline as published"
    sha = hashlib.sha256(raw).hexdigest()
    return (
        "# yaml-language-server: $schema=../schema/annotation.schema.json\n"
        "# How to annotate: docs/annotation-guide.md (check with `factpack check`)\n"
        f"format: {ANNOTATION_FORMAT}\n"
        "article:\n"
        f"  text_sha256: {sha}\n"
        f"  title: {title}\n"
        "  publisher: null\n"
        "  url: null\n"
        '  published_date: null             # "YYYY-MM-DD"\n'
        "  published_date_basis: unknown    # stated | inferred | unknown\n"
        "  published_date_note: null        # required when the basis is inferred\n"
        f"  language: {language}                     # ISO 639-1 code of the text\n"
        "  furniture: []                    # quotes of page furniture in the text\n"
        "sources: []\n"
        "events: []\n"
        "claims: []\n"
    )


def new_annotation(txt_path: Path, *, language: str = "en") -> Path:
    """Check an article text and write the annotation skeleton beside it.

    Args:
        txt_path: ``seeds/<stem>.txt``.
        language: ISO 639-1 code of the text.

    Returns:
        The path written, ``seeds/<stem>.yaml``.

    Raises:
        FactpackError: the text is missing, unsafe or not clean UTF-8, or the annotation
            exists already.
    """
    txt_path = Path(txt_path)
    shown = display_path(txt_path)
    if txt_path.suffix != ".txt":
        raise FactpackError(f"{shown}: expected the article text, a .txt file")
    if not SAFE_STEM.match(txt_path.stem):
        raise FactpackError(
            f"{shown}: file name '{txt_path.stem}' is not a safe stem; rename it to "
            "lower-case letters, digits, '_' and '-' (^[a-z0-9][a-z0-9_-]{0,63}$)"
        )
    if len(language) != 2 or not language.isascii() or not language.islower():
        raise FactpackError(f"--language {language!r}: give an ISO 639-1 code such as en")
    try:
        raw = txt_path.read_bytes()
    except FileNotFoundError:
        raise FactpackError(f"{shown}: no such file") from None
    except OSError as e:
        raise FactpackError(f"{shown}: cannot read: {e.strerror}") from None
    text, problems = decode_text(raw, shown)
    if problems:
        raise FactpackError(problems[0].format())
    assert text is not None
    if not text.strip():
        raise FactpackError(f"{shown}: the text is empty; put the verbatim article in it")
    yaml_path = txt_path.with_suffix(".yaml")
    try:
        with yaml_path.open("x", encoding="utf-8", newline="\n") as f:
            f.write(annotation_skeleton(text, raw, language=language))
    except FileExistsError:
        raise FactpackError(
            f"{display_path(yaml_path)}: the annotation exists already; "
            "edit it, or remove it to start again"
        ) from None
    return yaml_path
