"""Distill throughput against a local OpenAI-compatible server with a fixed, realistic latency.

One process tree: the stand-in teacher runs as a subprocess (so it does not share the client's
GIL), the clients run here. Ideal throughput = concurrency / latency. Compared in the same run:

  mathmind   one AsyncOpenAI client, adaptive concurrency, appends as it goes (concurrency 30, 64, 256)
  seed loop  seed 002's design: 30 threads, a new OpenAI client per call, results kept in memory

and both again with 10% injected faults (429, 500, non-JSON 200, hang, empty answer), counting
records lost (neither written nor listed as a failure to retry).

  python benchmarks/distill_throughput.py [--latency 2] [--rounds 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from openai import OpenAI

from mathmind.distill.prompts import load_prompt
from mathmind.distill.run import distill_async, errors_path, make_jobs
from mathmind.distill.sources import question_rows
from mathmind.distill.teacher import TeacherSettings


def start_server(latency: float, fault_rate: float) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "mathmind.distill.standin_teacher", "--port", "0",
                             "--latency", str(latency), "--fault-rate", str(fault_rate)],
                            stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    url = re.search(r"(http://\S+)", line).group(1)
    return proc, url


def questions_file(folder: Path, n: int) -> Path:
    path = folder / f"q{n}.jsonl"
    path.write_text("".join(json.dumps({"question": f"What is {i} + 1?", "answer": str(i + 1)}) + "\n" for i in range(n)))
    return path


def run_mathmind(url: str, questions: Path, out: Path, concurrency: int, timeout: float) -> tuple[float, int, int]:
    triples, total = question_rows(str(questions))
    jobs = make_jobs(triples, load_prompt("step_by_step"), 1, set())
    settings = TeacherSettings(model="standin-r1", base_url=url, timeout_s=timeout, max_retries=5, retry_base_delay_s=0.5)
    started = time.monotonic()
    summary = asyncio.run(distill_async(jobs, total, 0, out, "step_by_step", settings, "bench-key", concurrency,
                                        progress=False))
    elapsed = time.monotonic() - started
    written = len(out.read_text().splitlines())
    failed = len(errors_path(out).read_text().splitlines()) if errors_path(out).exists() else 0
    assert summary.done == written
    return elapsed, written, failed


def run_seed_loop(url: str, questions: Path, timeout: float, threads: int = 30) -> tuple[float, int, int]:
    """Seed 002's loop: a new client per call, a thread pool, results held until the end; an exception loses the sample."""
    rows = [json.loads(line)["question"] for line in questions.read_text().splitlines()]
    result: dict[int, tuple[str, str]] = {}

    def generate(i: int) -> None:
        try:
            client = OpenAI(api_key="bench-key", base_url=url, timeout=timeout)
            completion = client.chat.completions.create(model="standin-r1", messages=[{"role": "user", "content": rows[i]}])
            message = completion.choices[0].message
            result[i] = (message.reasoning_content, message.content)
        except Exception:  # noqa: BLE001 - the seed loses the sample
            pass

    started = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(generate, range(len(rows))))
    return time.monotonic() - started, len(result), 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency", type=float, default=2.0, help="server seconds per request (default 2)")
    parser.add_argument("--rounds", type=int, default=4, help="requests per run = rounds x concurrency (default 4)")
    args = parser.parse_args()
    timeout = args.latency * 3
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for fault_rate in (0.0, 0.1):
            server, url = start_server(args.latency, fault_rate)
            try:
                plans = [("seed loop (new client per call)", 30)] + [("mathmind", c) for c in (30, 64, 256)]
                if fault_rate:
                    plans = [("seed loop (new client per call)", 30), ("mathmind", 64)]
                for name, concurrency in plans:
                    # Under faults the slowest retries (a hang waits out the timeout) form a tail: more rounds amortise it.
                    n = concurrency * args.rounds * (3 if fault_rate else 1)
                    questions = questions_file(folder, n)
                    if name == "mathmind":
                        out = folder / f"out-{concurrency}-{fault_rate}.jsonl"
                        elapsed, written, failed = run_mathmind(url, questions, out, concurrency, timeout)
                    else:
                        elapsed, written, failed = run_seed_loop(url, questions, timeout, concurrency)
                    ideal = concurrency / args.latency
                    achieved = written / elapsed
                    rows.append((name, concurrency, f"{fault_rate:.0%}", n, written, failed, n - written - failed,
                                 achieved, ideal, achieved / ideal))
                    print(f"{name:<34} c={concurrency:<4} faults={fault_rate:.0%} {achieved:7.1f}/s of ideal {ideal:6.1f}/s "
                          f"= {achieved / ideal:.2f}  lost {n - written - failed}", file=sys.stderr, flush=True)
            finally:
                server.terminate()
                server.wait()
    print(f"\nlatency {args.latency:g} s per request, {args.rounds} rounds of requests per run\n")
    print("| client | concurrency | faults | requests | answered | failed (retryable) | lost | achieved/s | ideal/s | ratio |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, c, faults, n, written, failed, lost, achieved, ideal, ratio in rows:
        print(f"| {name} | {c} | {faults} | {n} | {written} | {failed} | {lost} | {achieved:.1f} | {ideal:.1f} | {ratio:.2f} |")


if __name__ == "__main__":
    main()
