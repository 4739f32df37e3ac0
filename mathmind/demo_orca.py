"""`mathmind demo --recipe orca-math`: seed 004's method, offline, on the tiny model, as one pipeline of named steps.

teacher (the stand-in, answers from a table) -> judge -> sharegpt -> SFT (answer-only loss, no packing)
then twice: sample the student (k=4, temperature 0.7, top_p 0.95, a local model) -> judge each sample
against the teacher's answer -> KTO examples (`pairs`) -> KTO from the previous model;
the SFT model and each KTO model evaluated on the held-out problems (lm-eval) -> report.

What it measures: held-out accuracy (exact \\boxed{} answer) of a 4-layer model trained for minutes on
one-digit arithmetic. The preference iterations need not help such a model; the numbers are real
measurements of these runs, not a claim about the method at scale.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

ITERATIONS = 2
MODELS = ("sft", *(f"kto{i}" for i in range(1, ITERATIONS + 1)))


def orca_pipeline(out: Path, teacher_url: str, epochs: float, hardware: str, batch: int, task: str,
                  sample_questions: int) -> dict[str, Any]:
    """OUT/orca-run/<step>/ for each step; the kto steps start from the previous model, each with its own pairs."""
    tiny = str(out / "models" / "tiny")
    steps: dict[str, Any] = {
        "teacher": {"run": "distill", "settings": {
            "questions": str(out / "questions" / "train.jsonl"), "base_url": teacher_url, "model": "standin-r1",
            "api_key_env": "MATHMIND_DEMO_KEY", "concurrency": 32, "prompt": "step_by_step"}},
        "teacher_judged": {"run": "judge", "inputs": {"in": "teacher"}, "settings": {"mode": "rule"}},
        "sft_data": {"run": "convert", "inputs": {"in": "teacher_judged"}, "settings": {"format": "sharegpt", "name": "orca_sft"}},
        "sft": {"run": "train", "inputs": {"dataset": "sft_data"}, "settings": {
            "recipe": "recipes/tiny/orca_sft.yaml", "hardware": hardware,
            "overrides": {"model_name_or_path": tiny, "num_train_epochs": epochs, "per_device_train_batch_size": batch,
                          "logging_steps": 20, "save_steps": 200}}},
    }
    previous = "sft"
    for i in range(1, ITERATIONS + 1):
        steps[f"samples{i}"] = {"run": "sample", "inputs": {"questions": "teacher_judged", "model": previous}, "settings": {
            "k": 4, "limit": sample_questions, "max_tokens": 64, "batch_size": 32, "seed": i, "no_progress": True}}
        steps[f"samples{i}_judged"] = {"run": "judge", "inputs": {"in": f"samples{i}"}, "settings": {"mode": "rule"}}
        steps[f"pairs{i}"] = {"run": "pairs", "inputs": {"in": f"samples{i}_judged"}, "settings": {"name": f"orca{i}"}}
        steps[f"kto{i}"] = {"run": "train", "inputs": {"dataset": f"pairs{i}", "model": previous}, "settings": {
            "recipe": "recipes/tiny/orca_kto.yaml", "hardware": hardware,
            "overrides": {"dataset": f"orca{i}_kto", "learning_rate": 1.0e-5, "logging_steps": 10, "save_steps": 200}}}
        previous = f"kto{i}"
    for name in MODELS:
        steps[f"eval_{name}"] = {"run": "eval", "inputs": {"model": name}, "settings": {
            "name": name, "tasks": task, "include_path": str(out / "tasks"), "apply_chat_template": True,
            "max_gen_toks": 64, "batch_size": 16}}
    steps["report"] = {"run": "report", "inputs": {"runs": [f"eval_{m}" for m in MODELS]}, "settings": {"baseline": "sft"}}
    return {"description": "mathmind demo --recipe orca-math: stand-in teacher -> SFT -> (sample -> judge -> pairs -> KTO) x2 "
                           "-> lm-eval of each model", "run_dir": str(out / "orca-run"), "steps": steps}


def print_results(run_dir: Path, held_out: int, task: str, pipeline_file: Path) -> int:
    """Held-out accuracy after SFT and after each KTO round, and what each round's pairs held."""
    import json

    print(f"\ndemo orca-math: held-out accuracy ({held_out} problems, lm-eval, exact \\boxed{{}} answer):")
    for name in MODELS:
        rows = json.loads((run_dir / f"eval_{name}" / "eval" / "summary.json").read_text(encoding="utf-8"))["rows"]
        value = next(r["value"] for r in rows if r["task"] == task and r["filter"] == "boxed")
        what = "after SFT" if name == "sft" else f"after preference round {name[3:]} (KTO)"
        print(f"  {what:<34} {value:.1%}")
    for i in range(1, ITERATIONS + 1):
        judged = [json.loads(line) for line in (run_dir / f"samples{i}_judged" / "judged.jsonl").read_text(encoding="utf-8").splitlines()]
        right = sum(r["verdict"] == "accept" for r in judged)
        print(f"  round {i}: {right} of {len(judged)} student samples matched the teacher (pairs: "
              f"{run_dir / f'pairs{i}' / 'data' / f'orca{i}.summary.json'})")
    print(f"\npipeline: {pipeline_file} (mathmind run {pipeline_file} --plan); report: {run_dir / 'report' / 'report.md'}")
    return 0
