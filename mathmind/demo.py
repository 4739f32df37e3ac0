"""The embedded offline default: every stage, for real, on this machine's CPU, in a few minutes.

1. a seeded generator writes GSM8K-style word problems (English and Chinese: one-digit addition and
   subtraction, worded many ways) with exact answers, split into train and held-out test;
2. a stand-in teacher (an OpenAI-compatible server on 127.0.0.1, NOT a model: it answers from the
   generator's table in DeepSeek-R1's shape, reasoning_content + a \\boxed{} answer, a share of them
   deliberately wrong) is asked by the real `distill` code through the openai SDK;
3. `judge` (rules + math-verify) throws the wrong answers out, `convert` builds a sharegpt dataset
   with <think> reasoning and registers it;
4. a tiny Qwen2 model built offline (own BPE tokenizer, random weights) is trained by `train` on the
   tiny recipe under torchrun with 2 processes and DeepSpeed ZeRO-2;
5. `eval` runs lm-evaluation-harness on the held-out problems before and after training (the task is
   gsm8k's YAML with the plain question as prompt and the \\boxed{} answer extracted), and `report`
   writes the comparison with charts.

It is one `mathmind run` pipeline of named steps (OUT/pipeline.yaml; `mathmind run OUT/pipeline.yaml --plan`
shows it), so re-running skips what is done.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import yaml

from mathmind.jsonl import write_text_atomic
from mathmind.problems import make_problems

DEMO_TASK = "mathmind_demo"
# --recipe -> its run folder under OUT (the pipelines: demo_pipeline below, mathmind/demo_orca.py)
RECIPES = {"distill": "run", "orca-math": "orca-run"}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("demo-out"), help="folder for every artefact (default demo-out)")
    parser.add_argument("--recipe", choices=sorted(RECIPES), default="distill",
                        help="distill (default): seed 002's distillation; orca-math: seed 004, SFT then two rounds of "
                             "student samples -> judge -> KTO pairs -> KTO (see mathmind/demo_orca.py)")
    parser.add_argument("--train", type=int, default=2000, help="training questions to distil (default 2000)")
    parser.add_argument("--test", type=int, default=100, help="held-out questions (default 100)")
    parser.add_argument("--epochs", type=float, default=6, help="(SFT) training epochs (default 6)")
    parser.add_argument("--sample-questions", type=int, default=120,
                        help="orca-math: questions the student is sampled on per round, 4 samples each (default 120)")
    parser.add_argument("--wrong-share", type=float, default=0.15, help="share of teacher answers made wrong on purpose (default 0.15)")
    parser.add_argument("--seed", type=int, default=0)


def demo_task_yaml(test_file: Path) -> str:
    """lm-eval's gsm8k task over the held-out file, prompted with the plain question, scored on the \\boxed{} answer."""
    from lm_eval.tasks import TaskManager

    from mathmind.eval.tasks import packaged_yaml

    config = {
        "include": packaged_yaml("gsm8k", TaskManager()), "task": DEMO_TASK,
        "dataset_path": "json", "dataset_name": None, "dataset_kwargs": {"data_files": {"test": str(test_file.resolve())}},
        "training_split": None, "fewshot_split": None, "num_fewshot": 0,
        "doc_to_text": "{{question}}",
        "filter_list": [
            {"name": "boxed", "filter": [{"function": "regex", "regex_pattern": r"\\boxed\{(-?[0-9.,]+)\}", "group_select": -1},
                                         {"function": "take_first"}]},
            {"name": "flexible-extract", "filter": [{"function": "regex", "regex_pattern": r"(-?[$0-9.,]{2,})|(-?[0-9]+)",
                                                     "group_select": -1}, {"function": "take_first"}]},
        ],
    }
    return yaml.safe_dump(config, allow_unicode=True, sort_keys=False)


def demo_hardware() -> tuple[str, int]:
    """Where the demo trains and its per-device batch: one device of the accelerator `doctor` finds, else two
    CPU processes; 16 samples per step either way. (Asking for the CPU keeps every process off an accelerator.)"""
    from mathmind.hardware import detect

    hw = detect()
    return ("cpu:2", 8) if hw.kind == "cpu" else (f"{hw.kind}:1", 16)


def demo_pipeline(out: Path, teacher_url: str, epochs: float) -> dict:
    """The demo as a pipeline of named steps: each step's output lands in OUT/run/<step>/."""
    run_dir = out / "run"
    tiny = str(out / "models" / "tiny")
    hardware, batch = demo_hardware()
    return {
        "description": "mathmind demo: stand-in teacher -> judge -> sharegpt -> tiny Qwen2 (torchrun x2, ZeRO-2) -> lm-eval",
        "run_dir": str(run_dir),
        "steps": {
            "answer": {"run": "distill", "settings": {
                "questions": str(out / "questions" / "train.jsonl"), "base_url": teacher_url, "model": "standin-r1",
                "api_key_env": "MATHMIND_DEMO_KEY", "concurrency": 32, "prompt": "step_by_step"}},
            "judged": {"run": "judge", "inputs": {"in": "answer"}, "settings": {"mode": "rule"}},
            "dataset": {"run": "convert", "inputs": {"in": "judged"}, "settings": {"format": "sharegpt", "name": "demo_sharegpt"}},
            "train": {"run": "train", "inputs": {"dataset": "dataset"}, "settings": {
                "recipe": "recipes/tiny/full_sft.yaml", "hardware": hardware,
                "overrides": {"model_name_or_path": tiny, "num_train_epochs": epochs, "learning_rate": 2.0e-3,
                              "per_device_train_batch_size": batch, "logging_steps": 20, "save_steps": 200}}},
            **{f"eval_{name}": {"run": "eval", **({"inputs": {"model": "train"}} if name == "after" else {}), "settings": {
                **({"model": tiny} if name == "before" else {}), "name": name, "tasks": DEMO_TASK,
                "include_path": str(out / "tasks"), "apply_chat_template": True, "max_gen_toks": 64, "batch_size": 16}}
               for name in ("before", "after")},
            "report": {"run": "report", "inputs": {"runs": ["eval_before", "eval_after"]}, "settings": {"baseline": "before"}},
        },
    }


def run(args: argparse.Namespace) -> int:
    from mathmind.distill.standin_teacher import StandInTeacher, TeacherConfig
    from mathmind.pipeline import run_pipeline
    from mathmind.tiny import build_tiny_model

    out: Path = args.out
    problems = make_problems(args.train + args.test, seed=args.seed)
    train, test = problems[:args.train], problems[args.train:]
    for name, rows in (("train", train), ("test", test)):
        path = out / "questions" / f"{name}.jsonl"
        text = "".join(json.dumps({k: r[k] for k in ("question", "answer", "answer_number")}, ensure_ascii=False) + "\n" for r in rows)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            write_text_atomic(path, text)
    model = out / "models" / "tiny"
    if not (model / "config.json").exists():
        print("demo: building a tiny Qwen2 model (own BPE tokenizer, random weights)", flush=True)
        build_tiny_model(model, [p["question"] + " " + p["answer"] for p in train], hidden_size=128, layers=4, seed=args.seed)
    write_text_atomic(out / "tasks" / f"{DEMO_TASK}.yaml", demo_task_yaml(out / "questions" / "test.jsonl"))
    os.environ["MATHMIND_DEMO_KEY"] = "demo-key-not-a-secret"
    config = TeacherConfig(latency_s=0.05, api_key=os.environ["MATHMIND_DEMO_KEY"], wrong_share=args.wrong_share, seed=args.seed,
                           answers={p["question"]: str(p["answer_number"]) for p in train},
                           reasonings={p["question"]: p["work"] for p in train})
    with StandInTeacher(config) as teacher:
        print(f"demo: stand-in teacher (not a model: answers from a table, {args.wrong_share:.0%} wrong on purpose) "
              f"on {teacher.url}", flush=True)
        if args.recipe == "orca-math":
            from mathmind.demo_orca import orca_pipeline

            hardware, batch = demo_hardware()
            pipeline = orca_pipeline(out, teacher.url, args.epochs, hardware, batch, DEMO_TASK, args.sample_questions)
        else:
            pipeline = demo_pipeline(out, teacher.url, args.epochs)
        pipeline_file = out / ("pipeline.yaml" if args.recipe == "distill" else f"pipeline-{args.recipe}.yaml")
        write_text_atomic(pipeline_file, yaml.safe_dump(pipeline, allow_unicode=True, sort_keys=False))
        code = run_pipeline(pipeline)
    if code:
        return code
    if args.recipe == "orca-math":
        from mathmind.demo_orca import print_results

        return print_results(out / RECIPES[args.recipe], len(test), DEMO_TASK, pipeline_file)
    run_dir = out / "run"
    scores = {}
    for name in ("before", "after"):
        rows = json.loads((run_dir / f"eval_{name}" / "eval" / "summary.json").read_text(encoding="utf-8"))["rows"]
        scores[name] = next(r["value"] for r in rows if r["task"] == DEMO_TASK and r["filter"] == "boxed")
    judged = [json.loads(line) for line in (run_dir / "judged" / "judged.jsonl").read_text(encoding="utf-8").splitlines()]
    print(f"\ndemo: held-out accuracy ({len(test)} problems, lm-eval, boxed answer): "
          f"before training {scores['before']:.1%}, after {scores['after']:.1%}")
    print(f"demo: the judge kept {sum(r['verdict'] == 'accept' for r in judged)} of {len(judged)} teacher answers")
    print("\nartefacts:")
    for label, path in [("pipeline", out / "pipeline.yaml"), ("questions", out / "questions"),
                        ("distilled", run_dir / "answer" / "records.jsonl"), ("judged", run_dir / "judged" / "judged.jsonl"),
                        ("dataset", run_dir / "dataset" / "data" / "demo_sharegpt.json"),
                        ("dataset_info", run_dir / "dataset" / "data" / "dataset_info.json"),
                        ("tiny model", model), ("trained", run_dir / "train" / "model"), ("eval", run_dir / "eval_after"),
                        ("report", run_dir / "report" / "report.md")]:
        print(f"  {label:<13} {path}")
    return 0
