"""Run the stages as one pipeline: distill -> judge -> convert (+ register) -> train -> eval -> report.

A pipeline file names one run directory and, per stage, the same options as that stage's subcommand
(`concurrency: 30` is `--concurrency 30`); mathmind wires the files between stages:

  RUN/distill.jsonl -> RUN/judged.jsonl -> RUN/data/NAME.json (+ RUN/data/dataset_info.json)
  -> RUN/train/ -> RUN/eval/<model>/summary.json -> RUN/report.md

Each stage's fingerprint (its settings, its input files, the fingerprints of the stages it reads
from) is kept in RUN/pipeline_state.json. A re-run skips a stage whose fingerprint is unchanged and
that finished; resumes one that was interrupted (distill and judge per record, train from its last
checkpoint); and re-runs, from scratch, a stage whose fingerprint changed, and so everything after it.
Stages left out of the file are not run. Paths in the file are relative to the directory you run from.

  mathmind run recipes/pipelines/seed002_qwen2.5_7b.yaml
  mathmind run PIPELINE.yaml --from train        # earlier stages count as done
  mathmind run PIPELINE.yaml --only eval --force
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from mathmind.errors import UserError
from mathmind.jsonl import read_yaml_mapping, write_json_atomic

STAGES = ("distill", "judge", "convert", "train", "eval", "report")
TRAINED = "train"          # in eval.models: the model the train stage wrote


@dataclass
class Step:
    """One subcommand invocation of a stage, with what it reads and writes."""
    key: str                                  # state key: the stage, or eval:<model>
    argv: list[str]
    inputs: list[str]                         # local files or strings whose content defines the work
    upstream: list[str]                       # state keys whose fingerprints this depends on
    outputs: list[Path]                       # removed before a re-run from scratch
    settings: dict[str, Any] = field(default_factory=dict)


def flags(settings: dict[str, Any]) -> list[str]:
    """Stage settings as subcommand flags: `max_retries: 3` -> --max-retries 3, `stream: true` -> --stream."""
    out: list[str] = []
    for key, value in settings.items():
        if value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        if value is True:
            out.append(flag)
        elif isinstance(value, list):
            out += [flag, ",".join(map(str, value))]
        else:
            out += [flag, str(value)]
    return out


def content_of(item: str) -> str:
    """A file's content hash; a folder's file names, sizes and times (a model folder is too big to read each
    run); anything else (a hub id, a URL) stands for itself."""
    path = Path(item.split("?", 1)[0])
    if path.is_file():
        return hashlib.sha256(path.read_bytes()).hexdigest()
    if path.is_dir():
        listing = [(str(f.relative_to(path)), f.stat().st_size, f.stat().st_mtime_ns)
                   for f in sorted(path.rglob("*")) if f.is_file()]
        return hashlib.sha256(json.dumps(listing).encode()).hexdigest()
    return item


def plan(pipeline: dict[str, Any], run_dir: Path) -> list[Step]:
    steps: list[Step] = []
    data = run_dir / "data"
    name = None
    for stage in STAGES:
        settings = dict(pipeline.get(stage) or {})
        if stage not in pipeline:
            continue
        if stage == "distill":
            out = run_dir / "distill.jsonl"
            steps.append(Step("distill", ["distill", "--out", str(out), *flags(settings)], [str(settings.get("questions", ""))],
                              [], [out, out.with_name("distill.errors.jsonl"), out.with_name("distill.jsonl.torn")], settings))
        elif stage == "judge":
            out = run_dir / "judged.jsonl"
            steps.append(Step("judge", ["judge", "--in", str(run_dir / "distill.jsonl"), "--out", str(out), *flags(settings)],
                              [], _present(steps, "distill"), [out, run_dir / "judged.llm.jsonl", run_dir / "judged.llm.errors.jsonl"],
                              settings))
        elif stage == "convert":
            name = settings.pop("name", None) or "mathmind_distill"
            source = run_dir / ("judged.jsonl" if "judge" in pipeline else "distill.jsonl")
            steps.append(Step("convert", ["convert", "--in", str(source), "--out", str(data / f"{name}.json"),
                                          "--register", str(data / "dataset_info.json"), "--name", name, *flags(settings)],
                              [], _present(steps, "judge", "distill"), [data], {**settings, "name": name}))
        elif stage == "train":
            recipe = settings.pop("recipe", None)
            if not recipe:
                raise UserError("train: `recipe` is required (a recipe YAML, e.g. recipes/tiny/full_sft.yaml)")
            overrides = {"output_dir": str(run_dir / "train"), **(settings.pop("overrides", None) or {})}
            if name:
                overrides = {"dataset": name, "custom_dataset_info": str(data / "dataset_info.json"), **overrides}
            argv = ["train", str(recipe), *[f"{k}={_override(v)}" for k, v in overrides.items()], *flags(settings)]
            from mathmind.launch.recipe import shipped

            steps.append(Step("train", argv, [str(shipped(Path(str(recipe))))], _present(steps, "convert"), [Path(overrides["output_dir"])],
                              {**settings, "overrides": overrides}))
        elif stage == "eval":
            models = settings.pop("models", None)
            if not isinstance(models, dict) or not models:
                raise UserError("eval: `models` must map report names to models (a folder, a hub id, or `train`)")
            trained = next((s for s in steps if s.key == "train"), None)
            for model_name, model in models.items():
                if model == TRAINED and trained is None:
                    raise UserError(f"eval: model {model_name!r} is `train`, but the pipeline has no train stage")
                path = trained.settings["overrides"]["output_dir"] if model == TRAINED else str(model)
                out = run_dir / "eval" / str(model_name)
                steps.append(Step(f"eval:{model_name}", ["eval", "--model", path, "--out", str(out), "--name", str(model_name),
                                                         *flags(settings)],
                                  [path] if model != TRAINED else [], ["train"] if model == TRAINED else [], [out], settings))
        elif stage == "report":
            evals = [s for s in steps if s.key.startswith("eval:")]
            if not evals:
                raise UserError("report: needs an eval stage")
            out = run_dir / "report.md"
            steps.append(Step("report", ["report", *[str(run_dir / "eval" / s.key[5:]) for s in evals], "--out", str(out),
                                         *flags(settings)], [], [s.key for s in evals], [out, run_dir / "report_figures"], settings))
    return steps


def _present(steps: list[Step], *keys: str) -> list[str]:
    """The first of `keys` that the pipeline has, as the upstream of the next stage."""
    return [k for k in keys if any(s.key == k for s in steps)][:1]


def _override(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


# Flags that change how a stage runs, not what it produces: changing them does not re-run a stage.
HOW_FLAGS = {"--base-url", "--no-progress", "--concurrency", "--rpm", "--timeout", "--max-retries", "--retry-base-delay",
             "--batch-size", "--num-concurrent", "--api-key-env"}


def fingerprint(step: Step, state: dict[str, Any]) -> str:
    argv = [a for i, a in enumerate(step.argv) if a not in HOW_FLAGS and (i == 0 or step.argv[i - 1] not in HOW_FLAGS)]
    data = {"argv": argv, "inputs": [content_of(i) for i in step.inputs],
            "upstream": [state.get(k, {}).get("fingerprint") for k in step.upstream]}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def remove_outputs(step: Step, run_dir: Path) -> None:
    for path in step.outputs:
        if not path.resolve().is_relative_to(run_dir.resolve()):
            print(f"run: {step.key}: not removing {path} (outside the run directory); remove it yourself to start over",
                  file=sys.stderr)
        elif path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def load_pipeline(path: Path) -> dict[str, Any]:
    pipeline = read_yaml_mapping(path, "pipeline")
    if not pipeline.get("run_dir"):
        raise UserError(f"{path}: a pipeline needs `run_dir` and stage sections ({', '.join(STAGES)})")
    unknown = [k for k in pipeline if k not in (*STAGES, "run_dir", "description")]
    if unknown:
        raise UserError(f"{path}: unknown section {unknown[0]!r} (stages: {', '.join(STAGES)})")
    return pipeline


def run_pipeline(pipeline: dict[str, Any], start: str | None = None, only: str | None = None, force: bool = False,
                 main: Callable[[list[str]], int] | None = None) -> int:
    if main is None:
        from mathmind.cli import main
    run_dir = Path(pipeline["run_dir"])
    run_dir.mkdir(parents=True, exist_ok=True)
    state_path = run_dir / "pipeline_state.json"
    state: dict[str, Any] = json.loads(state_path.read_text(encoding="utf-8")) if state_path.exists() else {}
    steps = plan(pipeline, run_dir)
    for flag, stage in (("--from", start), ("--only", only)):
        if stage and not any(s.key.split(":")[0] == stage for s in steps):
            raise UserError(f"{flag} {stage}: the pipeline has no such stage (it has {', '.join(dict.fromkeys(s.key.split(':')[0] for s in steps))})")
    started = start is None
    for step in steps:
        stage = step.key.split(":")[0]
        started = started or stage == start
        fp = fingerprint(step, state)
        record = state.get(step.key, {})
        selected = started and (only is None or stage == only)
        if not selected:
            if record.get("fingerprint") != fp:     # count as done, as asked: later stages build on it as it is
                state[step.key] = {"fingerprint": fp, "status": "done", "assumed": True}
            print(f"run: {step.key}: skipped (not selected)", file=sys.stderr)
            continue
        if record.get("fingerprint") == fp and record.get("status") == "done" and not force:
            print(f"run: {step.key}: unchanged, skipped", file=sys.stderr)
            continue
        if force or (record and record.get("fingerprint") != fp):
            remove_outputs(step, run_dir)
            why = "forced" if force else "changed"
        else:
            why = "resuming" if record else "new"
        print(f"run: {step.key}: {why}: mathmind {' '.join(step.argv)}", file=sys.stderr, flush=True)
        state[step.key] = {"fingerprint": fp, "status": "running"}
        write_json_atomic(state_path, state)
        code = main(step.argv)
        if code != 0:
            why = "was interrupted; re-run to resume it" if code == 130 else f"failed (exit {code}); fix it and re-run"
            print(f"run: {step.key} {why}: finished stages are kept", file=sys.stderr)
            return code
        state[step.key] = {"fingerprint": fp, "status": "done"}
        write_json_atomic(state_path, state)
    write_json_atomic(state_path, state)
    print(f"run: done; everything is in {run_dir}", file=sys.stderr)
    return 0


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pipeline", type=Path, help="pipeline YAML (see recipes/pipelines/)")
    parser.add_argument("--from", dest="start", choices=STAGES, default=None, help="start at this stage; earlier ones count as done")
    parser.add_argument("--only", choices=STAGES, default=None, help="run only this stage")
    parser.add_argument("--force", action="store_true", help="re-run the selected stages from scratch even if unchanged")


def run(args: argparse.Namespace) -> int:
    from mathmind.launch.recipe import shipped

    return run_pipeline(load_pipeline(shipped(args.pipeline)), args.start, args.only, args.force)
