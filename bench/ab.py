"""A/B of the clean build between commits, within one run on one generated corpus.

Issue 13 (point 8): a speed-up that adds a mechanism stays only where an A/B within one bench
run shows it buys at least 10% of the build. This script builds the same corpus from clean with
the ``src/`` of each given commit (extracted with ``git archive``, imported through
``PYTHONPATH`` by the same ``.venv``, so only factpack's own code differs), alternating the
commits run after run (A B C A B C ...), each run after reading the corpus into the page cache.
It prints, per commit, the median wall time of the build and of its ``load`` stage, the
median CPU seconds of the build's process tree (user + system, workers included: steadier than
wall time on a shared machine) and the ratios to the first commit, and checks that every
commit published the same bytes (SHA256SUMS of the release; the ``.duckdb`` is not
byte-reproducible and is not listed there).

Usage: ``python -m bench.ab --size 10000 --runs 3 main HEAD``; results go to stdout as JSON
and a Markdown table (``--out FILE`` writes the JSON too).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

from bench.generate import generate
from bench.run import ROOT, _build_cmd, timed_run, warm


def extract(ref: str, into: Path) -> tuple[str, Path]:
    """Extract ``src/`` and ``schema/`` of ``ref`` under ``into/<sha>``; return sha and src.

    The build finds its meta-schemas in the ``schema/`` beside ``src/``.
    """
    sha = subprocess.run(
        ["git", "rev-parse", "--verify", f"{ref}^{{commit}}"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    folder = into / sha[:12]
    if not (folder / "src" / "factpack").is_dir():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        archive = subprocess.run(
            ["git", "archive", "--format=tar", sha, "src", "schema"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        ).stdout
        tar = folder / "src.tar"
        tar.write_bytes(archive)
        with tarfile.open(tar) as tf:
            tf.extractall(folder, filter="data")
        tar.unlink()
    return sha, folder / "src"


def _sums(work: Path) -> str:
    release = next(p for p in (work / "dist").iterdir() if p.is_dir())
    return (release / "SHA256SUMS").read_text(encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Run the A/B and print its figures."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("refs", nargs="+", help="commits to compare; the first is the reference")
    p.add_argument("--size", type=int, default=10000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--dir", type=Path, default=ROOT / "build" / "bench" / "ab")
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--timeout", type=float, default=3 * 3600)
    args = p.parse_args(argv)

    base: Path = args.dir
    corpus = base / f"corpus-{args.size}"
    if not corpus.is_dir():
        generate(args.size, corpus)
    trees = [extract(ref, base / "src") for ref in args.refs]
    runs: dict[str, list[dict[str, Any]]] = {sha: [] for sha, _ in trees}
    sums: dict[str, str] = {}
    for i in range(args.runs):
        for sha, src in trees:
            work = base / "work"
            for sub in ("dist", "build"):
                shutil.rmtree(work / sub, ignore_errors=True)
            timings = work / "timings.json"
            env = {**os.environ, "PYTHONPATH": str(src)}
            warm(corpus)
            cmd = _build_cmd(corpus, work, timings, [])
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            run = timed_run(cmd, args.timeout, env)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            if run["rc"] != 0:
                raise RuntimeError(f"build of {sha[:12]} failed: {run['stderr'][-2000:]}")
            stages = json.loads(timings.read_text(encoding="utf-8"))
            runs[sha].append({"wall_s": run["wall_s"], "cpu_s": cpu, "stages": stages})
            sums.setdefault(sha, _sums(work))
            print(
                f"[run {i + 1}] {sha[:12]}: build {run['wall_s']:.2f} s ({cpu:.2f} s CPU), "
                f"load {stages.get('load', float('nan')):.2f} s",
                file=sys.stderr,
            )
    ref_sha = trees[0][0]
    ref_build = statistics.median(r["wall_s"] for r in runs[ref_sha])
    ref_cpu = statistics.median(r["cpu_s"] for r in runs[ref_sha])
    result: dict[str, Any] = {"size": args.size, "runs": args.runs, "commits": {}}
    for sha, _ in trees:
        build = statistics.median(r["wall_s"] for r in runs[sha])
        load = statistics.median(r["stages"].get("load", 0.0) for r in runs[sha])
        cpu = statistics.median(r["cpu_s"] for r in runs[sha])
        result["commits"][sha] = {
            "build_s": [round(r["wall_s"], 2) for r in runs[sha]],
            "build_median_s": round(build, 2),
            "load_median_s": round(load, 2),
            "cpu_s": [round(r["cpu_s"], 2) for r in runs[sha]],
            "cpu_median_s": round(cpu, 2),
            "cpu_vs_first": round(cpu / ref_cpu, 3),
            "vs_first": round(build / ref_build, 3),
            "saves_pct_of_first": round(100 * (ref_build - build) / ref_build, 1),
            "same_bytes_as_first": sums[sha] == sums[ref_sha],
        }
    text = json.dumps(result, indent=2)
    print(text)
    print()
    print(
        "| commit | build s (median) | load s (median) | vs first | saves "
        "| CPU s (median) | CPU vs first | same bytes |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for sha, c in result["commits"].items():
        print(
            f"| {sha[:12]} | {c['build_median_s']:.2f} | {c['load_median_s']:.2f} | "
            f"{c['vs_first']:.3f} | {c['saves_pct_of_first']:.1f}% | {c['cpu_median_s']:.2f} | "
            f"{c['cpu_vs_first']:.3f} | {c['same_bytes_as_first']} |"
        )
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
