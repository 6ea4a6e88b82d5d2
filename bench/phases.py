"""Where one conversion spends its time: imports, load, build, render, write (medians of N runs, each
in a fresh interpreter, so imports are counted as a user pays them).

    python bench/phases.py COMPOSE_FILE [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile

CHILD = """
import json, sys, time
from pathlib import Path
t0 = time.perf_counter()
from bridge.build import build_chart
from bridge.loader import Options, load
from bridge.render import render_chart
from bridge.writer import write_chart
t1 = time.perf_counter()
project = load(Options(files=[sys.argv[1]]))
t2 = time.perf_counter()
chart = build_chart(project)
t3 = time.perf_counter()
files = render_chart(chart)
t4 = time.perf_counter()
write_chart(files, Path(sys.argv[2]))
t5 = time.perf_counter()
print(json.dumps({"imports": t1 - t0, "load": t2 - t1, "build": t3 - t2, "render": t4 - t3, "write": t5 - t4}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("compose")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            out = subprocess.run([sys.executable, "-c", CHILD, args.compose, f"{tmp}/chart{i}"],
                                 capture_output=True, text=True, check=True).stdout
            runs.append(json.loads(out))
    print("  ".join(f"{phase} {statistics.median(r[phase] for r in runs) * 1000:.0f} ms" for phase in runs[0]))


if __name__ == "__main__":
    main()
