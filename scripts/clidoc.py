"""Write docs/cli.md, the command reference, from the CLI's own --help texts.

Usage: ``python scripts/clidoc.py`` rewrites it; ``--check`` exits 1 when it is out of date
(tests/test_cli_docs.py runs that, so the reference never drifts from the code).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from click.testing import CliRunner

from factpack.cli import cli

DOC = Path(__file__).resolve().parents[1] / "docs" / "cli.md"
HEADER = """# Command reference

Generated from `factpack --help` by `scripts/clidoc.py` (`make docs`); a test fails when it
differs from the code. Exit codes: 0 success, 1 bad data or a failed check, 2 bad usage.
"""


def help_text(args: list[str]) -> str:
    """Return the --help output of ``factpack ARGS``, at a fixed terminal width."""
    result = CliRunner().invoke(cli, [*args, "--help"], prog_name="factpack", terminal_width=88)
    assert result.exit_code == 0, result.output
    return result.output.rstrip() + "\n"


def render() -> str:
    """Return the whole reference: the group's help, then each command's, in name order."""
    parts = [HEADER, "```\n$ factpack --help\n" + help_text([]) + "```\n"]
    assert isinstance(cli, click.Group)
    for name in sorted(cli.commands):
        parts.append(
            f"## factpack {name}\n\n```\n$ factpack {name} --help\n" + help_text([name]) + "```\n"
        )
    return "\n".join(parts)


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not DOC.exists() or DOC.read_text(encoding="utf-8") != text:
            print(f"{DOC.name} is out of date: run `make docs`", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
