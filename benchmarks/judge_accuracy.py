"""Judge accuracy on the labelled set (benchmarks/data/judge_labelled.jsonl; see make_judge_set.py).

Prints, for each judge: accuracy on all records (undecided counts as not accepted: right for a wrong
answer, wrong for a right one), accuracy on the records it decided, false accepts (wrong answers kept: the costly error for training data), false
rejects, the undecided share and the share sent to the LLM; then the rule judge's accuracy and
undecided share per language and per answer form, next to the naive judges; then the time per
record. Baselines, measured in the same run:
  last number     the last number anywhere in the response (a common quick filter)
  first boxed     the first \\boxed{} (what a first-match extractor returns)
  rule before     the rule judge as it was before issue 13 (commit BEFORE, read with git; skipped
                  where the history is not there)
Hybrid runs the real `mathmind judge --mode hybrid` against the stand-in LLM judge on 127.0.0.1.

    python benchmarks/judge_accuracy.py
    # targets: rule accuracy >= 97%, false accepts <= 1.5%, undecided <= 5%, time per record <= rule before
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Callable

from mathmind.judge.answers import boxed_spans, equivalent, gold_value, judge_by_rule, number_value
from mathmind.distill.standin_teacher import StandInTeacher, TeacherConfig

DATA = Path(__file__).parent / "data" / "judge_labelled.jsonl"
BEFORE = "887c5a6"          # the rule judge before issue 13 (judge recall)


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


def rule_before() -> Callable | None:
    """judge_by_rule as of commit BEFORE, or None when git or that commit is not here."""
    root = Path(__file__).parent.parent
    try:
        source = subprocess.run(["git", "show", f"{BEFORE}:judge/answers.py"], cwd=root, capture_output=True,
                                text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    path = Path(tempfile.mkdtemp()) / "rule_before.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("rule_before", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["rule_before"] = module
    spec.loader.exec_module(module)
    return module.judge_by_rule


def score(name: str, verdicts: list[str], labels: list[str], llm_calls: int = 0) -> str:
    n = len(labels)
    decided = [(v, l) for v, l in zip(verdicts, labels) if v != "undecided"]
    right = sum(accepted_right(v, l) for v, l in zip(verdicts, labels))          # undecided = not accepted
    right_decided = sum(v == l for v, l in decided)
    false_acc = sum(v == "accept" and l == "reject" for v, l in decided)
    false_rej = sum(v == "reject" and l == "accept" for v, l in decided)
    return (f"{name:<14} {right / n:8.1%} {right_decided / max(len(decided), 1):9.1%} {false_acc / n:9.1%} "
            f"{false_rej / n:9.1%} {(n - len(decided)) / n:10.1%} {llm_calls / n:8.1%}")


def accepted_right(verdict: str, label: str) -> bool:
    return (verdict == "accept") == (label == "accept")


def breakdown(title: str, key: str, rows: list[dict], judges: dict[str, list[str]]) -> None:
    groups: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        groups[r[key]].append(i)
    names = list(judges)
    print(f"\nby {title}: accuracy (undecided = not accepted); rule undecided share")
    print(f"{title:<14} {'n':>5} " + " ".join(f"{n:>12}" for n in names) + f" {'undecided':>10}")
    for group, idx in sorted(groups.items()):
        accs = [sum(accepted_right(judges[n][i], rows[i]["label"]) for i in idx) / len(idx) for n in names]
        undecided = sum(judges["rule"][i] == "undecided" for i in idx) / len(idx)
        print(f"{group:<14} {len(idx):>5} " + " ".join(f"{a:>12.1%}" for a in accs) + f" {undecided:>10.1%}")


def per_record_ms(judge: Callable, rows: list[dict], repeats: int = 3) -> float:
    for r in rows[:20]:
        judge(r["answer"], r["gold"], r["finish_reason"])
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for r in rows:
            judge(r["answer"], r["gold"], r["finish_reason"])
        best = min(best, time.perf_counter() - started)
    return best / len(rows) * 1000


def main() -> None:
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines()]
    labels = [r["label"] for r in rows]
    before = rule_before()
    judges = {"last number": [baseline_last_number(r["answer"], r["gold"]) for r in rows],
              "first boxed": [baseline_first_boxed(r["answer"], r["gold"]) for r in rows]}
    if before:
        judges["rule before"] = [before(r["answer"], r["gold"], r["finish_reason"]).verdict for r in rows]
    judges["rule"] = [judge_by_rule(r["answer"], r["gold"], r["finish_reason"]).verdict for r in rows]
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
    print(f"labelled responses: {len(rows)} ({labels.count('accept')} correct, {labels.count('reject')} wrong), "
          f"{len({r['lang'] for r in rows})} languages")
    print(f"{'judge':<14} {'accuracy':>8} {'(decided)':>9} {'false acc':>9} {'false rej':>9} {'undecided':>10} {'LLM calls':>8}")
    for name, verdicts in judges.items():
        print(score(name, verdicts, labels))
    print(score("hybrid", hybrid, labels, llm_calls))
    breakdown("language", "lang", rows, judges)
    breakdown("form", "form", rows, judges)
    misses = [(r["lang"], r["form"], r["kind"], v) for r, v in zip(rows, judges["rule"]) if not accepted_right(v, r["label"])]
    print(f"\nrule-mode misses (lang, form, kind, verdict): {misses}")
    now = per_record_ms(judge_by_rule, rows)
    line = f"time per record: rule {now:.2f} ms"
    if before:
        then = per_record_ms(before, rows)
        line += f", rule before {then:.2f} ms (ratio {now / then:.2f})"
    print(line)


if __name__ == "__main__":
    main()
