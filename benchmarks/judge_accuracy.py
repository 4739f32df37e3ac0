"""Judge accuracy on the labelled set (benchmarks/data/judge_labelled.jsonl; see make_judge_set.py).

Prints, for each judge: accuracy on all records (undecided counts as wrong), accuracy on the records
it decided, false accepts (wrong answers kept: the costly error for training data), false rejects,
and the share sent to the LLM. Baselines, measured in the same run:
  last number     the last number anywhere in the response (a common quick filter)
  first boxed     the first \\boxed{} (what a first-match extractor returns)
Hybrid runs the real `mathmind judge --mode hybrid` against the stand-in LLM judge on 127.0.0.1.

    python benchmarks/judge_accuracy.py    # targets: rule >= 98% accuracy, <= 1% false accepts; hybrid <= 5% LLM
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from mathmind.judge.answers import boxed_spans, equivalent, gold_value, judge_by_rule, number_value
from mathmind.distill.standin_teacher import StandInTeacher, TeacherConfig

DATA = Path(__file__).parent / "data" / "judge_labelled.jsonl"


def baseline_last_number(answer: str, gold: object) -> str:
    numbers = re.findall(r"-?\d[\d,]*(?:\.\d+)?", answer)
    g = gold_value(gold)
    if not numbers or g is None:
        return "reject"
    v = number_value(numbers[-1])
    return "accept" if v is not None and equivalent(g, v) else "reject"


def baseline_first_boxed(answer: str, gold: object) -> str:
    spans = boxed_spans(answer)
    g = gold_value(gold)
    if not spans or g is None:
        return "reject"
    v = number_value(spans[0][1]) or spans[0][1]
    return "accept" if equivalent(g, v) else "reject"


def score(name: str, verdicts: list[str], labels: list[str], llm_calls: int = 0) -> str:
    n = len(labels)
    decided = [(v, l) for v, l in zip(verdicts, labels) if v != "undecided"]
    right = sum(v == l for v, l in decided)
    false_acc = sum(v == "accept" and l == "reject" for v, l in decided)
    false_rej = sum(v == "reject" and l == "accept" for v, l in decided)
    return (f"{name:<14} {right / n:8.1%} {right / max(len(decided), 1):9.1%} {false_acc / n:9.1%} {false_rej / n:9.1%} "
            f"{(n - len(decided)) / n:10.1%} {llm_calls / n:8.1%}")


def main() -> None:
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines()]
    labels = [r["label"] for r in rows]
    rule = [judge_by_rule(r["answer"], r["gold"], r["finish_reason"]).verdict for r in rows]
    last = [baseline_last_number(r["answer"], r["gold"]) for r in rows]
    first = [baseline_first_boxed(r["answer"], r["gold"]) for r in rows]
    with tempfile.TemporaryDirectory() as tmp, StandInTeacher(TeacherConfig(api_key="bench")) as teacher:
        inp, out = Path(tmp) / "in.jsonl", Path(tmp) / "judged.jsonl"
        inp.write_text("".join(json.dumps({k: r[k] for k in ("id", "gold", "answer", "finish_reason")}, ensure_ascii=False) + "\n"
                               for r in rows), encoding="utf-8")
        subprocess.run([sys.executable, "-m", "mathmind", "judge", "--in", str(inp), "--out", str(out), "--mode", "hybrid",
                        "--base-url", teacher.url, "--no-progress"], check=True, env={**os.environ, "API_KEY": "bench"},
                       stderr=subprocess.DEVNULL)
        judged = {r["id"]: r for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    hybrid = [judged[r["id"]]["verdict"] for r in rows]
    llm_calls = sum(judged[r["id"]]["judge"] == "llm" for r in rows)
    print(f"labelled responses: {len(rows)} ({sum(l == 'accept' for l in labels)} correct, {sum(l == 'reject' for l in labels)} wrong)")
    print(f"{'judge':<14} {'accuracy':>8} {'(decided)':>9} {'false acc':>9} {'false rej':>9} {'undecided':>10} {'LLM calls':>8}")
    print(score("last number", last, labels))
    print(score("first boxed", first, labels))
    print(score("rule", rule, labels))
    print(score("hybrid", hybrid, labels, llm_calls))
    misses = [(r["kind"], v) for r, v in zip(rows, rule) if v not in (r["label"], "undecided")]
    print(f"rule-mode mistakes by kind: {misses}")


if __name__ == "__main__":
    main()
