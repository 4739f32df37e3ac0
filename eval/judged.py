"""The `judge` metric: mathmind's final-answer rule judge over lm-eval's logged samples.

lm-eval's filters read fixed formats: gsm8k's strict-match wants `#### N`, MGSM's strict-match
`The answer is N` / `答案是 N。` (per language), and flexible-extract takes the last run of `[$0-9.,]`,
which in `... is $\\boxed{18}$.` is `$.`. A distilled student answers the way its teacher does, so
lm-eval's numbers can be 0 for right answers. The judge (`mathmind.judge.answers.judge_by_rule`, the rule
judge of `mathmind judge`, math-verify underneath) reads the last committed answer of the raw
generation (`\\boxed{}`, an answer phrase in the MGSM languages, `####`, a concluding bold number; anything
before `</think>` ignored) and compares it with the document's target.

Per generation task one summary row: metric `judge`, filter `final-answer`, value = accepted / n, with
`accepted`, `rejected` and `undecided` counts (undecided: the rules cannot tell, e.g. an answer they
cannot read or compare; counted as not correct, and shown; no final answer at all is rejected). lm-eval's
own rows stay as they are. Per-sample verdicts go to OUT/judge/<task>.jsonl (for review).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from mathmind.jsonl import write_text_atomic
from mathmind.judge.answers import judge_by_rule

JUDGE_METRIC, JUDGE_FILTER = "judge", "final-answer"


def sample_files(output: Path, results_file: Path) -> dict[str, Path]:
    """task -> the samples file lm-eval wrote with this results file (same timestamp), newest otherwise."""
    stamp = results_file.stem[len("results_"):]
    found: dict[str, Path] = {}
    for path in sorted(output.rglob("samples_*.jsonl"), key=lambda p: p.stat().st_mtime):
        task, _, file_stamp = path.stem[len("samples_"):].rpartition("_")
        if task not in found or file_stamp == stamp or found[task].stem.rpartition("_")[2] != stamp:
            found[task] = path
    return found


def judge_task(samples_file: Path, task: str, model: str, family: str, out: Path) -> dict[str, Any] | None:
    """The task's `judge` summary row, or None when its samples are not generations (loglikelihood tasks)."""
    counts = {"accept": 0, "reject": 0, "undecided": 0}
    judged, seen = [], set()
    for line in samples_file.read_text(encoding="utf-8").splitlines():
        sample = json.loads(line)
        if sample["doc_id"] in seen:          # one line per doc and lm-eval filter: the raw generation is the same
            continue
        seen.add(sample["doc_id"])
        response = (sample.get("resps") or [[None]])[0][0]
        if not isinstance(response, str):
            return None
        result = judge_by_rule(response, sample.get("target"))
        counts[result.verdict] += 1
        judged.append({"doc_id": sample["doc_id"], "verdict": result.verdict, "reason": result.reason,
                       "extracted": result.extracted, "gold": result.gold_value, "response": response})
    n = len(judged)
    if not n:
        return None
    write_text_atomic(out / "judge" / f"{task}.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in judged))
    value = counts["accept"] / n
    stderr = math.sqrt(value * (1 - value) / (n - 1)) if n > 1 else None
    return {"model": model, "task": task, "family": family, "metric": JUDGE_METRIC, "filter": JUDGE_FILTER,
            "value": value, "stderr": stderr, "n": n, "accepted": counts["accept"], "rejected": counts["reject"],
            "undecided": counts["undecided"], "scorer": "mathmind judge"}
