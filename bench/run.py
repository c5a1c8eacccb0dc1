"""``make bench``: build generated corpora of several sizes and compare with the floor and baseline.

Per size N (in ``build/bench/N/``), each measured run after reading the corpus into the page
cache (:func:`warm`): generate the corpus, run ``factpack build --timings`` from
clean (wall time, peak RSS and PSS of the whole process tree sampled from /proc), edit one
annotation and build again (the incremental rebuild), then measure the floor
(bench/floor.py) and the baseline (bench/baseline.py) on the same corpus. Writes
``bench/results.json`` and ``bench/RESULTS.md``; every build figure is also given as a ratio
to the floor and to the baseline.

Usage: ``python -m bench.run [--sizes 1000 10000 100000] [--build-args "..."] [--keep]``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import resource
import shlex
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bench.generate import DEFAULT_SEED, article_stem, generate

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
FACTPACK = str(Path(sys.executable).with_name("factpack"))
GOALS = {  # issue 13, point 8 (the goals of issue 5 it withdrew are gone)
    "build_vs_floor_max": 2.5,
    "baseline_vs_build_min": 1.0,
    "incremental_vs_build_max": 0.5,
    "check_dir_after_edit_s_max": 10.0,
    "check_one_file_s_max": 1.0,
    "preview_s_max": 1.0,
    "peak_rss_mb_max": 2048.0,
    "growth_10k_to_100k_max": 11.0,
}
TABLES = ("articles", "sources", "events", "claims")


def _pss_kb(pid: int) -> int:
    """Proportional set size of ``pid`` (KiB): shared pages counted once across processes."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as fh:
            for line in fh:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _tree_rss_kb(root: int) -> tuple[int, int]:
    """Sum the resident memory (KiB) of ``root`` and all its descendants, from /proc.

    Returns:
        (RSS, PSS): RSS counts a page shared by forked workers once per process; PSS splits it.
    """
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rindex(b")") + 2 :].split()
        pid, ppid = int(entry.name), int(fields[1])
        children.setdefault(ppid, []).append(pid)
        rss[pid] = int(fields[21]) * (resource.getpagesize() // 1024)
    total, pss, todo = 0, 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        pss += _pss_kb(pid)
        todo.extend(children.get(pid, []))
    return total, pss


def warm(folder: Path) -> None:
    """Read every file under ``folder`` so that a measured run finds it in the page cache.

    The build, the floor and the baseline all read the corpus; without this the build (run
    right after the corpus is generated) found it cached and the floor and baseline (run
    minutes later, after the builds wrote GBs) often did not: this machine keeps only a few GB
    of page cache (DAMON reclaim), and the floor's parse took 109-144 s between runs.
    """
    for root, _, names in os.walk(folder):
        for name in names:
            with open(os.path.join(root, name), "rb") as fh:
                while fh.read(1 << 20):
                    pass


def median_run(cmd: list[str], timeout: float | None = None, k: int = 5) -> dict[str, Any]:
    """Run ``cmd`` ``k`` times; return the run with the median wall time (first failure wins)."""
    runs = []
    for _ in range(k):
        run = timed_run(cmd, timeout)
        if run["rc"] != 0:
            return run
        runs.append(run)
    return sorted(runs, key=lambda r: r["wall_s"])[k // 2]


def timed_run(
    cmd: list[str], timeout: float | None = None, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Run ``cmd`` (with ``env``); return wall seconds, exit code, output and peak RSS (MB)."""
    peak = peak_pss = 0
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak, peak_pss
        while not done.is_set():
            rss, pss = _tree_rss_kb(proc.pid)
            peak, peak_pss = max(peak, rss), max(peak_pss, pss)
            done.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    return {
        "wall_s": wall,
        "rc": proc.returncode,
        "stdout": out,
        "stderr": err,
        "peak_rss_mb": peak / 1024,
        "peak_pss_mb": peak_pss / 1024,
    }


def edit_one_annotation(corpus: Path, n: int, which: int | None = None) -> Path:
    """Change one event summary in article ``which`` (default: the middle article of the
    corpus); return its path."""
    path = corpus / f"{article_stem(DEFAULT_SEED, n // 2 if which is None else which)}.yaml"
    text = path.read_text(encoding="utf-8")
    edited = text.replace('    summary: "', '    summary: "Edited for the benchmark: ', 1)
    assert edited != text
    path.write_text(edited, encoding="utf-8")
    return path


def _build_cmd(corpus: Path, work: Path, timings: Path, extra: list[str]) -> list[str]:
    from factpack.pipeline.versions import own_schema

    if not (work / "schema").is_dir():  # a package name of its own, never the repository's
        # The generated texts are ours: the bench measures a release that includes them.
        own_schema(work / "schema", name="factpack-bench", text_policy="include")
    return [
        FACTPACK,
        "build",
        "--schema-dir",
        str(work / "schema"),
        "--seeds",
        str(corpus),
        "--dist",
        str(work / "dist"),
        "--build-dir",
        str(work / "build"),
        "--timings",
        str(timings),
        *extra,
    ]


def _json_out(run: dict[str, Any], what: str) -> dict[str, Any]:
    if run["rc"] != 0:
        raise RuntimeError(f"{what} failed ({run['rc']}): {run['stderr'][-2000:]}")
    result: dict[str, Any] = json.loads(run["stdout"].strip().splitlines()[-1])
    return result


def measure_size(n: int, base: Path, build_args: list[str], timeout: float) -> dict[str, Any]:
    """Measure everything for a corpus of ``n`` articles under ``base/n``."""
    work = base / str(n)
    shutil.rmtree(work, ignore_errors=True)
    corpus = work / "corpus"
    t0 = time.perf_counter()
    generate(n, corpus)
    gen_s = time.perf_counter() - t0
    print(f"[{n}] generated in {gen_s:.1f} s", file=sys.stderr)

    timings = work / "timings.json"
    warm(corpus)
    full = timed_run(_build_cmd(corpus, work, timings, build_args), timeout)
    if full["rc"] != 0:
        raise RuntimeError(f"build failed ({full['rc']}): {full['stderr'][-2000:]}")
    stages = json.loads(timings.read_text(encoding="utf-8"))
    usage = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"[{n}] build {full['wall_s']:.1f} s, {full['peak_rss_mb']:.0f} MB", file=sys.stderr)
    release = next(p for p in (work / "dist").iterdir() if p.is_dir())
    counts = _counts(release)

    # `factpack check` of the whole folder once (its results go to build/cache/check), so that
    # the check after the edit below measures the annotator's loop, not a first check.
    check_cmd = [FACTPACK, "check", "--build-dir", str(work / "build")]
    warm(corpus)
    check_cold = timed_run([*check_cmd, str(corpus)], timeout)
    edited = edit_one_annotation(corpus, n)
    inc_timings = work / "timings-incremental.json"
    warm(corpus)
    inc = timed_run(_build_cmd(corpus, work, inc_timings, build_args), timeout)
    if inc["rc"] != 0:
        raise RuntimeError(f"incremental build failed: {inc['stderr'][-2000:]}")
    inc_stages = json.loads(inc_timings.read_text(encoding="utf-8"))
    print(f"[{n}] incremental {inc['wall_s']:.1f} s", file=sys.stderr)
    # The annotator's loop (issue 13, point 7): lint the whole folder after one edit, and
    # the edited file alone.
    warm(corpus)
    check_dir = timed_run([*check_cmd, str(corpus)], timeout)
    # One file's check and one article's preview: CLI wall time, median of 5 (issue 13, pt 7).
    check_one = median_run([*check_cmd, str(edited)], timeout)
    preview_cmd = [FACTPACK, "preview", edited.stem, "--seeds", str(corpus)]
    preview = median_run([*preview_cmd, "--out", str(work / "preview")], timeout)
    runs = (
        (check_cold, "first check"),
        (check_dir, "check seeds/"),
        (check_one, "check one"),
        (preview, "preview"),
    )
    for run, what in runs:
        if run["rc"] != 0:
            raise RuntimeError(f"{what} failed ({run['rc']}): {run['stderr'][-2000:]}")
    print(
        f"[{n}] check dir {check_dir['wall_s']:.1f} s, one {check_one['wall_s']:.2f} s, "
        f"preview {preview['wall_s']:.2f} s",
        file=sys.stderr,
    )

    ab = page_reuse_ab(n, work, corpus, build_args, timeout)

    warm(corpus)
    floor = _json_out(
        timed_run([PY, "-m", "bench.floor", str(corpus), str(release), str(work / "floor")]),
        "floor",
    )
    print(f"[{n}] floor {floor['floor_s']:.1f} s", file=sys.stderr)
    warm(corpus)
    base_run = timed_run([PY, "-m", "bench.baseline", str(corpus), str(work / "baseline")])
    baseline = _json_out(base_run, "baseline")
    print(f"[{n}] baseline {baseline['baseline_s']:.1f} s", file=sys.stderr)

    build_s = full["wall_s"]
    rows = sum(counts.values())
    no_fl = build_s - stages.get("frictionless", 0.0)
    return {
        "articles": n,
        "rows": rows,
        "rows_per_table": counts,
        "generate_s": gen_s,
        "build_s": build_s,
        "floor_s": floor["floor_s"],
        "baseline_s": baseline["baseline_s"],
        "incremental_s": inc["wall_s"],
        "incremental_vs_build": inc["wall_s"] / build_s,
        "check_dir_first_s": check_cold["wall_s"],
        "check_dir_after_edit_s": check_dir["wall_s"],
        "check_one_file_s": check_one["wall_s"],
        "preview_s": preview["wall_s"],
        "peak_rss_mb": full["peak_rss_mb"],
        "peak_pss_mb": full["peak_pss_mb"],
        "max_process_rss_mb": usage,
        "articles_per_s": n / build_s,
        "rows_per_s": {t: c / build_s for t, c in counts.items()},
        "build_vs_floor": build_s / floor["floor_s"],
        "baseline_vs_build": baseline["baseline_s"] / build_s,
        "incremental_vs_floor": inc["wall_s"] / floor["floor_s"],
        "incremental_vs_baseline": inc["wall_s"] / baseline["baseline_s"],
        "build_without_frictionless_s": no_fl,
        "build_without_frictionless_vs_floor": no_fl / floor["floor_s"],
        "baseline_vs_build_without_frictionless": baseline["baseline_s"] / no_fl,
        "stages_s": stages,
        "stage_share": {k: v / build_s for k, v in stages.items()},
        "incremental_stages_s": inc_stages,
        "floor": floor,
        "baseline": baseline,
        "build_args": build_args,
        **ab,
        "page_reuse_gain_build": 1 - build_s / ab["build_no_page_reuse_s"],
        "page_reuse_gain_incremental": 1 - inc["wall_s"] / ab["incremental_no_page_reuse_s"],
    }


def page_reuse_ab(
    n: int, work: Path, corpus: Path, build_args: list[str], timeout: float
) -> dict[str, Any]:
    """The A/B of the review pages' reuse (docs/scaling.md): the incremental rebuild after
    editing another article, and then a clean build, both with ``--no-page-reuse`` (every
    page rendered; the kept pages left as they are). The builds with reuse are the run's
    ``build_s`` and ``incremental_s``."""
    edit_one_annotation(corpus, n, n // 2 + 1)
    timings = work / "timings-incremental-no-page-reuse.json"
    warm(corpus)
    cmd = [*_build_cmd(corpus, work, timings, build_args), "--no-page-reuse"]
    inc = timed_run(cmd, timeout)
    if inc["rc"] != 0:
        raise RuntimeError(f"incremental build without page reuse failed: {inc['stderr'][-2000:]}")
    inc_stages = json.loads(timings.read_text(encoding="utf-8"))
    # Out of the way, not deleted: the build deletes a large replaced release in a detached
    # process (release.discard), which may still be at work in dist/.
    for name in ("build", "dist"):
        aside = work / f"{name}-aside"
        os.rename(work / name, aside)
        shutil.rmtree(aside, ignore_errors=True)
    clean_timings = work / "timings-no-page-reuse.json"
    warm(corpus)
    cmd = [*_build_cmd(corpus, work, clean_timings, build_args), "--no-page-reuse"]
    full = timed_run(cmd, timeout)
    if full["rc"] != 0:
        raise RuntimeError(f"build without page reuse failed: {full['stderr'][-2000:]}")
    print(
        f"[{n}] without page reuse: incremental {inc['wall_s']:.1f} s, "
        f"build {full['wall_s']:.1f} s",
        file=sys.stderr,
    )
    return {
        "incremental_no_page_reuse_s": inc["wall_s"],
        "incremental_no_page_reuse_stages_s": inc_stages,
        "build_no_page_reuse_s": full["wall_s"],
        "build_no_page_reuse_stages_s": json.loads(clean_timings.read_text(encoding="utf-8")),
    }


def _counts(release: Path) -> dict[str, int]:
    import pyarrow.parquet as pq

    return {t: pq.ParquetFile(release / "data" / f"{t}.parquet").metadata.num_rows for t in TABLES}


def machine() -> str:
    """One line describing this machine."""
    mem = ""
    try:
        with open("/proc/meminfo") as fh:
            kb = int(fh.readline().split()[1])
        mem = f", {kb / 1024**2:.0f} GiB"
    except OSError:
        pass
    return f"{platform.machine()} {platform.system()} {os.cpu_count()} cores{mem}"


def versions() -> dict[str, str]:
    """Versions of Python, the libraries and the factpack commit measured."""
    out = {"python": platform.python_version()}
    for lib in ("pyarrow", "pandas", "pandera", "frictionless", "duckdb", "pyyaml"):
        out[lib] = importlib.metadata.version(lib)
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        commit = ""
    out["factpack"] = commit
    return out


def goals(sizes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Check the goals on the largest size (and growth 10k -> 100k when both ran)."""
    if not sizes:
        return {}
    largest = sizes[max(sizes, key=int)]
    out: dict[str, Any] = {"measured_on": largest["articles"]}
    out["build_vs_floor"] = {
        "value": largest["build_vs_floor"],
        "goal": f"<= {GOALS['build_vs_floor_max']}",
        "met": largest["build_vs_floor"] <= GOALS["build_vs_floor_max"],
    }
    out["baseline_vs_build"] = {
        "value": largest["baseline_vs_build"],
        "goal": f">= {GOALS['baseline_vs_build_min']}",
        "met": largest["baseline_vs_build"] > GOALS["baseline_vs_build_min"],
    }
    for key in ("incremental_vs_build", "check_dir_after_edit_s", "check_one_file_s", "preview_s"):
        out[key] = {
            "value": largest[key],
            "goal": f"<= {GOALS[key + '_max']}",
            "met": largest[key] <= GOALS[key + "_max"],
        }
    out["peak_rss_mb"] = {
        "value": largest["peak_rss_mb"],
        "goal": f"<= {GOALS['peak_rss_mb_max']}",
        "met": largest["peak_rss_mb"] <= GOALS["peak_rss_mb_max"],
    }
    if "10000" in sizes and "100000" in sizes:
        growth = sizes["100000"]["build_s"] / sizes["10000"]["build_s"]
        out["growth_10k_to_100k"] = {
            "value": growth,
            "goal": f"<= {GOALS['growth_10k_to_100k_max']}",
            "met": growth <= GOALS["growth_10k_to_100k_max"],
        }
    return out


def _f(x: float) -> str:
    return f"{x:.2f}" if x < 100 else f"{x:.0f}"


def markdown(results: dict[str, Any]) -> str:
    """Render results.json as RESULTS.md."""
    sizes = results["sizes"]
    keys = sorted(sizes, key=int)
    lines = [
        "# Benchmark results",
        "",
        f"`make bench` on {results['machine']}; {results['date']}. Versions: "
        + ", ".join(f"{k} {v}" for k, v in results["versions"].items())
        + ". Times are wall-clock seconds; generated corpus (bench/generate.py, seed "
        f"{DEFAULT_SEED}). See docs/scaling.md for what the figures mean.",
        "",
        "| articles | rows | build s | floor s | baseline s | build/floor | baseline/build "
        "| incremental s | peak RSS MB | peak PSS MB | articles/s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for k in keys:
        s = sizes[k]
        lines.append(
            f"| {s['articles']} | {s['rows']} | {_f(s['build_s'])} | {_f(s['floor_s'])} | "
            f"{_f(s['baseline_s'])} | {s['build_vs_floor']:.2f} | {s['baseline_vs_build']:.2f} | "
            f"{_f(s['incremental_s'])} | {s['peak_rss_mb']:.0f} | "
            f"{s.get('peak_pss_mb', float('nan')):.0f} | {s['articles_per_s']:.0f} |"
        )
    lines += [
        "",
        "Without the frictionless stage (what a sampled layer-4 check approaches):",
        "",
        "| articles | build s | build/floor | baseline/build |",
        "|---:|---:|---:|---:|",
    ]
    for k in keys:
        s = sizes[k]
        lines.append(
            f"| {s['articles']} | {_f(s['build_without_frictionless_s'])} | "
            f"{s['build_without_frictionless_vs_floor']:.2f} | "
            f"{s['baseline_vs_build_without_frictionless']:.2f} |"
        )
    stages = sorted({st for k in keys for st in sizes[k]["stages_s"]})
    lines += [
        "",
        "Share of the full build per stage (from `factpack build --timings`); the remainder is "
        "start-up, schema loading and the lock:",
        "",
        "| articles | " + " | ".join(stages) + " |",
        "|---:|" + "---:|" * len(stages),
    ]
    for k in keys:
        share = sizes[k]["stage_share"]
        cells = " | ".join(f"{100 * share.get(st, 0):.0f}%" for st in stages)
        lines.append(f"| {sizes[k]['articles']} | {cells} |")
    lines += [
        "",
        "Incremental rebuild after editing one annotation, seconds per stage:",
        "",
        "| articles | " + " | ".join(stages) + " |",
        "|---:|" + "---:|" * len(stages),
    ]
    for k in keys:
        st_s = sizes[k]["incremental_stages_s"]
        cells = " | ".join(_f(st_s.get(st, 0)) for st in stages)
        lines.append(f"| {sizes[k]['articles']} | {cells} |")
    lines += [
        "",
        "Rows per second of the full build, per table:",
        "",
        "| articles | " + " | ".join(TABLES) + " |",
        "|---:|" + "---:|" * len(TABLES),
    ]
    for k in keys:
        r = sizes[k]["rows_per_s"]
        lines.append(
            f"| {sizes[k]['articles']} | " + " | ".join(f"{r[t]:.0f}" for t in TABLES) + " |"
        )
    lines += [
        "",
        "Floor (parse with PyYAML's C loader on all cores + pyarrow Parquet write) and "
        "baseline (pandas, pandera on pandas, to_csv, frictionless on CSV) steps, seconds:",
        "",
        "| articles | floor parse | floor write | base load | base dataframes | base pandera "
        "| base to_csv | base frictionless |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for k in keys:
        f, b = sizes[k]["floor"], sizes[k]["baseline"]
        lines.append(
            f"| {sizes[k]['articles']} | {_f(f['parse_s'])} | {_f(f['write_s'])} | "
            f"{_f(b['load_s'])} | {_f(b['dataframes_s'])} | {_f(b['pandera_s'])} | "
            f"{_f(b['to_csv_s'])} | {_f(b['frictionless_s'])} |"
        )
    lines += [
        "",
        "A/B of the review pages' reuse (build/cache/pages) within the run: the same builds "
        "with `--no-page-reuse` (the incremental one after editing another article); gain = "
        "1 - with / without (a mechanism stays at >= 10%):",
        "",
        "| articles | build s | without | gain | site s | without | incremental s | without "
        "| gain | site s | without |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for k in keys:
        s = sizes[k]
        if "build_no_page_reuse_s" not in s:
            continue
        site = (
            s["stages_s"].get("site", 0),
            s["build_no_page_reuse_stages_s"].get("site", 0),
            s["incremental_stages_s"].get("site", 0),
            s["incremental_no_page_reuse_stages_s"].get("site", 0),
        )
        lines.append(
            f"| {s['articles']} | {_f(s['build_s'])} | {_f(s['build_no_page_reuse_s'])} | "
            f"{100 * s['page_reuse_gain_build']:.0f}% | {_f(site[0])} | {_f(site[1])} | "
            f"{_f(s['incremental_s'])} | {_f(s['incremental_no_page_reuse_s'])} | "
            f"{100 * s['page_reuse_gain_incremental']:.0f}% | {_f(site[2])} | {_f(site[3])} |"
        )
    lines += ["", "## Goals", "", "| goal | value | target | met |", "|---|---:|---|---|"]
    for name, g in results["goals"].items():
        if isinstance(g, dict):
            lines.append(
                f"| {name} | {g['value']:.2f} | {g['goal']} | {'yes' if g['met'] else 'NO'} |"
            )
    if results.get("failed"):
        lines += ["", "## Sizes that did not finish", ""]
        lines += [f"- {k}: {v}" for k, v in results["failed"].items()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and write bench/results.json and bench/RESULTS.md."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", nargs="+", type=int, default=[1000, 10000, 100000])
    p.add_argument("--build-args", default="", help="extra arguments for factpack build")
    p.add_argument("--dir", type=Path, default=ROOT / "build" / "bench")
    p.add_argument("--out", type=Path, default=ROOT / "bench")
    p.add_argument("--timeout", type=float, default=3 * 3600, help="seconds per build")
    p.add_argument("--keep", action="store_true", help="keep build/bench/<N> after each size")
    args = p.parse_args(argv)
    sizes: dict[str, Any] = {}
    failed: dict[str, str] = {}
    for n in args.sizes:
        try:
            sizes[str(n)] = measure_size(n, args.dir, shlex.split(args.build_args), args.timeout)
        except (RuntimeError, OSError) as exc:
            failed[str(n)] = str(exc).splitlines()[0][:300]
            print(f"[{n}] FAILED: {exc}", file=sys.stderr)
        if not args.keep:
            shutil.rmtree(args.dir / str(n), ignore_errors=True)
    results = {
        "sizes": sizes,
        "machine": machine(),
        "versions": versions(),
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
        "goals": goals(sizes),
        "failed": failed,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    (args.out / "RESULTS.md").write_text(markdown(results), encoding="utf-8")
    print(markdown(results))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
