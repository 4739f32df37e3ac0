"""Evaluate a model with lm-evaluation-harness on gsm8k, mgsm_direct, mgsm_cot_native, mmlu (or any lm-eval task).

lm-eval does the work (its tasks, prompts, filters, metrics) in a subprocess whose progress you see;
mathmind picks the device (`npu:0` / `cuda:0` / `cpu` from mathmind.hardware: lm-eval silently falls
back to CPU for a bare `npu`), expands the seed's task names exactly, makes offline task YAMLs from
--data-dir, and writes OUT/summary.json: one row per model x task x metric x filter, with value,
stderr and n. lm-eval's own results and per-sample files are kept under OUT/lm_eval/.

Local models: a folder, or a hub id resolved to a folder first (see `mathmind pull`).
Served models (--base-url of an OpenAI-compatible server: vLLM-Ascend, MindIE, LMDeploy): generation
tasks through lm-eval's local-chat-completions, mmlu through local-completions with --tokenizer.
R1-style answers need a large --max-gen-toks; `</think>` and what precedes it are stripped. Requests
are cached under OUT/cache, so re-running after a failed request asks only for what is missing.

Two scores per generation task, side by side in summary.json (`scorer` says which is which):
  lm-eval    lm-eval's own metrics and filters, unchanged (comparable with published numbers), e.g. gsm8k
             exact_match after `strict-match` (`#### N`) and `flexible-extract` (last number-like run)
  judge      metric `judge`, filter `final-answer`: mathmind's rule judge (`mathmind judge`, math-verify) on
             the same logged generations, reading `\\boxed{}`, `答案是 N`, `The answer is N`, `####` after any
             `</think>`; value = accepted / n, `undecided` (rules cannot tell) counted as wrong and shown

--data-dir layout (jsonl; any subset; every accepted name is in the --data-dir help):
  gsm8k/test.jsonl [gsm8k/train.jsonl]            question, answer ("... #### N")   (also gsm8k_test.jsonl)
  mgsm/<lang>/test.jsonl  or  mgsm_<lang>.jsonl   question, answer_number            (lang: bn de en es fr ja ru sw te th zh)
  mmlu/<subject>/test.jsonl [mmlu/<subject>/dev.jsonl]   question, choices, answer (0-3 or A-D)
  <task>/test.jsonl [<task>/train.jsonl]          any other lm-eval task, in its hub dataset's fields
                                                  (e.g. hendrycks_math_algebra: problem, solution, level, type)
--data-source modelscope fills that layout from ModelScope's copies (AI-ModelScope/gsm8k, evalscope/mgsm,
cais/mmlu), through its cache and MsDataset; what is already in --data-dir is used as it is.

  mathmind eval --model saves/qwen2.5_7b_distill --tasks gsm8k,mgsm_direct,mgsm_cot_native,mmlu --out runs/eval/distill
  mathmind eval --model deepseek-r1-distill --base-url http://127.0.0.1:8000/v1 --tokenizer models/qwen \\
      --tasks mgsm_cot_native --max-gen-toks 8192 --out runs/eval/served
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from mathmind.errors import UserError
from mathmind.jsonl import write_json_atomic, write_text_atomic

DEFAULT_TASKS = "gsm8k,mgsm_direct,mgsm_cot_native,mmlu"
DEFAULT_MODELSCOPE_DATA_DIR = Path("~/.cache/mathmind/eval_data")
SCORERS = {"lm-eval": "lm-evaluation-harness's own metric and filter (unchanged; comparable with published numbers)",
           "mathmind judge": "metric `judge`: mathmind's final-answer rule judge over lm-eval's logged generations; "
                             "value = accepted / n, undecided counted as not correct",
           "human-reviewed": "filter `human-reviewed`: lm-eval's headline score with a person's verdicts from `mathmind review` "
                             "(RUN/review.jsonl) applied; `reviewed` documents, `changed` of them, `base_value` before"}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="model folder, hub id (modelscope:/openmind:/hf:), or the served model's name")
    parser.add_argument("--base-url", default=None, help="OpenAI-compatible server (http://HOST:PORT/v1) serving --model")
    parser.add_argument("--tasks", default=DEFAULT_TASKS, help=f"comma-separated (default {DEFAULT_TASKS})")
    parser.add_argument("--out", required=True, type=Path, help="folder for summary.json and lm-eval's files")
    parser.add_argument("--name", default=None, help="the model's name in reports (default: the --out folder's name)")
    parser.add_argument("--device", default="auto", help="auto (default: npu:0, cuda:0 or cpu), or e.g. npu:1")
    parser.add_argument("--limit", type=float, default=None, help="documents per task (a number, or a fraction < 1)")
    parser.add_argument("--num-fewshot", type=int, default=None, help="override the tasks' few-shot count")
    parser.add_argument("--batch-size", default="auto", help="local models: auto (default) or a number")
    parser.add_argument("--apply-chat-template", action="store_true", help="wrap prompts in the model's chat template (always on for served chat models)")
    from mathmind.eval.tasks import accepted_files

    parser.add_argument("--data-dir", type=Path, default=None,
                        help=f"local copies of the data (jsonl). Accepted file names, first found wins: {accepted_files()}")
    parser.add_argument("--data-source", choices=("hf", "modelscope"), default="hf",
                        help="where missing benchmark data comes from: hf (lm-eval's Hugging Face datasets, default) or "
                             "modelscope (gsm8k, mgsm, mmlu from ModelScope's copies, fetched through MsDataset into "
                             f"--data-dir, default {DEFAULT_MODELSCOPE_DATA_DIR}, and reused from there)")
    parser.add_argument("--modelscope-dataset", action="append", default=[], metavar="KIND=OWNER/NAME",
                        help="with --data-source modelscope: another ModelScope copy for gsm8k, mgsm or mmlu (repeatable)")
    parser.add_argument("--include-path", type=Path, action="append", default=[],
                        help="folder of your own lm-eval task YAMLs (repeatable); name those tasks in --tasks")
    parser.add_argument("--max-gen-toks", type=int, default=None, help="generation budget (lm-eval's default 256 is too small for R1-style answers)")
    parser.add_argument("--dtype", default="auto", help="local models: auto, bfloat16, float16, float32")
    parser.add_argument("--num-processes", type=int, default=1, help="local models: data-parallel processes over devices (accelerate launch)")
    served = parser.add_argument_group("served models")
    served.add_argument("--tokenizer", default=None, help="local tokenizer folder for loglikelihood tasks (mmlu) on a served model")
    served.add_argument("--api-key-env", default=None, metavar="VAR", help="environment variable with the server's key (default: none needed)")
    served.add_argument("--num-concurrent", type=int, default=8, help="requests in flight (default 8)")
    served.add_argument("--max-retries", type=int, default=5, help="retries per request before lm-eval gives up (default 5)")
    served.add_argument("--think-end-token", default="</think>", help="strip reasoning up to this token (default </think>)")


def hub_reachable(endpoint: str, timeout_s: float = 5.0) -> bool:
    url = urlparse(endpoint)
    try:
        with socket.create_connection((url.hostname, url.port or 443), timeout=timeout_s):
            return True
    except OSError:
        return False


def offline_check(args: argparse.Namespace, hub_tasks: list[str]) -> None:
    if args.data_dir or not hub_tasks:
        return
    offline = [v for v in ("MATHMIND_OFFLINE", "HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE") if os.environ.get(v, "") not in ("", "0")]
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    if offline or not hub_reachable(endpoint):
        why = f"{offline[0]} is set" if offline else f"{endpoint} is unreachable"
        raise UserError(f"the benchmark data comes from the Hugging Face hub and {why}; pass --data-dir with local "
                        f"copies (layout in `mathmind eval --help`)")


def copy_task_yamls(folders: list[Path], target: Path) -> set[str]:
    """Copy users' task YAMLs into the one folder lm-eval is given (its CLI takes a single --include_path).

    Relative `include:` lines are made absolute so they still find their base YAML.
    """
    names: set[str] = set()
    for folder in folders:
        if not folder.is_dir():
            raise UserError(f"--include-path {folder}: no such folder")
        for path in sorted(folder.rglob("*.yaml")):
            text = re.sub(r"(?m)^include:\s*(\S+)\s*$",
                          lambda m: f"include: {m.group(1) if Path(m.group(1)).is_absolute() else (path.parent / m.group(1)).resolve()}",
                          path.read_text(encoding="utf-8"))
            write_text_atomic(target / path.name, text)
            task = re.search(r"(?m)^task:\s*(\S+)", text)
            if task:
                names.add(task.group(1).strip("'\""))
    return names


def model_runs(args: argparse.Namespace, tasks: list[str], device: str) -> list[tuple[list[str], list[str]]]:
    """(lm-eval arguments, tasks) per lm-eval invocation: one for a local model, up to two for a served one."""
    from mathmind.eval.tasks import is_loglikelihood

    common = []
    if args.limit is not None:
        common += ["--limit", f"{args.limit:g}"]
    if args.num_fewshot is not None:
        common += ["--num_fewshot", str(args.num_fewshot)]
    if args.max_gen_toks:
        common += ["--gen_kwargs", f"max_gen_toks={args.max_gen_toks}"]
    if not args.base_url:
        from mathmind.pull import pull

        path = pull(args.model)
        model_args = f"pretrained={path},dtype={args.dtype}"
        extra = ["--device", device, "--batch_size", str(args.batch_size)]
        if args.apply_chat_template:
            extra.append("--apply_chat_template")
        return [(["--model", "hf", "--model_args", model_args, *extra, *common], tasks)]
    base = args.base_url.rstrip("/")
    api = f"model={args.model},num_concurrent={args.num_concurrent},max_retries={args.max_retries}"
    runs = []
    generate = [t for t in tasks if not is_loglikelihood(t)]
    score = [t for t in tasks if is_loglikelihood(t)]
    if generate:
        runs.append((["--model", "local-chat-completions", "--apply_chat_template", "--model_args",
                      f"{api},base_url={base}/chat/completions,tokenized_requests=False,think_end_token={args.think_end_token}",
                      *common], generate))
    if score:
        if not args.tokenizer:
            raise UserError(f"{', '.join(score)} score loglikelihoods: a served model needs --tokenizer (a local tokenizer folder)")
        from mathmind.pull import pull

        tokenizer = pull(args.tokenizer)
        runs.append((["--model", "local-completions", "--model_args",
                      f"{api},base_url={base}/completions,tokenizer_backend=huggingface,tokenizer={tokenizer}", *common], score))
    return runs


def summarise(results_file: Path, model_name: str) -> list[dict[str, Any]]:
    from mathmind.eval.tasks import family

    data = json.loads(results_file.read_text(encoding="utf-8"))
    rows = []
    for task, metrics in data["results"].items():
        n = data.get("n-samples", {}).get(task, {}).get("effective")
        for key, value in metrics.items():
            if "," not in key or "_stderr," in key or not isinstance(value, (int, float)):
                continue
            metric, _, filter_name = key.partition(",")
            stderr = metrics.get(f"{metric}_stderr,{filter_name}")
            rows.append({"model": model_name, "task": task, "family": family(task), "metric": metric, "filter": filter_name,
                         "value": value, "stderr": stderr if isinstance(stderr, (int, float)) else None, "n": n,
                         "scorer": "lm-eval"})
    return rows


def judge_rows(output: Path, results_file: Path, model_name: str, out: Path) -> list[dict[str, Any]]:
    """The `judge` row of every generation task of one lm-eval run, from its logged samples."""
    from mathmind.eval.judged import judge_task, sample_files
    from mathmind.eval.tasks import family

    rows = []
    for task, path in sorted(sample_files(output, results_file).items()):
        row = judge_task(path, task, model_name, family(task), out)
        if row:
            rows.append(row)
    return rows


def modelscope_data(args: argparse.Namespace, tasks: list[str]) -> list[str]:
    """Fill --data-dir from ModelScope's copies (what is there already is kept); returns notes."""
    from mathmind.eval.modelscope_data import fetch, parse_overrides
    from mathmind.eval.tasks import mmlu_subjects

    datasets = parse_overrides(args.modelscope_dataset)
    args.data_dir = (args.data_dir or DEFAULT_MODELSCOPE_DATA_DIR).expanduser()
    args.data_dir.mkdir(parents=True, exist_ok=True)
    if "mmlu" in tasks:
        from lm_eval.tasks import TaskManager

        tasks = [t for t in tasks if t != "mmlu"] + mmlu_subjects(TaskManager())
    return fetch(tasks, args.data_dir, datasets)


def run(args: argparse.Namespace) -> int:
    from mathmind.eval.tasks import expand_tasks, write_offline_tasks
    from mathmind.hardware import detect
    from mathmind.hardware.detect import eval_device

    tasks = expand_tasks([t.strip() for t in args.tasks.split(",") if t.strip()])
    if not tasks:
        raise UserError("--tasks: no task given")
    if args.data_dir and not args.data_dir.is_dir() and args.data_source == "hf":
        raise UserError(f"--data-dir {args.data_dir}: no such folder")
    device = "server" if args.base_url else eval_device(args.device, detect() if args.device == "auto" else None)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    include: list[str] = []
    own = copy_task_yamls(args.include_path, out / "tasks")
    if args.data_source == "modelscope":
        notes += modelscope_data(args, [t for t in tasks if t not in own])
    offline_check(args, [t for t in tasks if t not in own])
    if args.data_dir:
        rest = [t for t in tasks if t not in own]
        offline, written = write_offline_tasks(rest, args.data_dir, out, args.num_fewshot) if rest else ([], [])
        notes += written
        if offline:
            notes.append(f"lm-eval will log \"Task '...' from {out / 'tasks'}/... overrides existing task\" for "
                         f"{', '.join(offline[:3])}{', ...' if len(offline) > 3 else ''}: expected. mathmind's offline copy "
                         "replaces lm-eval's task of the same name: same prompt, filters and metrics, only the data "
                         "comes from --data-dir")
        tasks = [t for t in tasks if t in own] + offline
    if own or args.data_dir:
        include = ["--include_path", str((out / "tasks").resolve())]
    name = args.name or out.resolve().name
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false"}
    if args.data_dir or all(t in own for t in tasks):
        env.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")   # nothing may wait on an unreachable hub
    if args.api_key_env:
        if not os.environ.get(args.api_key_env):
            raise UserError(f"--api-key-env {args.api_key_env}: that variable is empty")
        env["OPENAI_API_KEY"] = os.environ[args.api_key_env]
    for note in notes:
        print(f"eval: note: {note}", file=sys.stderr)
    rows: list[dict[str, Any]] = []
    for i, (lm_args, run_tasks) in enumerate(model_runs(args, tasks, device)):
        launcher = [sys.executable, "-m", "lm_eval"]
        if args.num_processes > 1 and not args.base_url:
            launcher = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", str(args.num_processes), "-m", "lm_eval"]
        output = out / "lm_eval" / f"run{i}"
        command = [*launcher, *lm_args, "--tasks", ",".join(run_tasks), *include, "--output_path", str(output),
                   "--log_samples", "--use_cache", str(out / "cache" / f"run{i}")]
        print(f"eval: {name}: lm-eval on {', '.join(run_tasks)} ({device if not args.base_url else args.base_url})", file=sys.stderr)
        proc = subprocess.run(command, env=env)
        if proc.returncode != 0:
            raise UserError(f"lm-eval failed (exit {proc.returncode}) on {', '.join(run_tasks)}: see its error above; "
                            f"finished requests are cached in {out / 'cache'}, so a re-run resumes")
        results = sorted(glob.glob(str(output / "**" / "results_*.json"), recursive=True), key=os.path.getmtime)
        if not results:
            raise UserError(f"lm-eval wrote no results under {output}")
        rows += summarise(Path(results[-1]), name)
        rows += judge_rows(output, Path(results[-1]), name, out)
    from mathmind.judge.review_data import human_reviewed_rows

    rows += human_reviewed_rows(out, name)            # verdicts given in `mathmind review` outlive a re-run
    write_json_atomic(out / "summary.json", {"model": name, "source": args.model, "base_url": args.base_url, "device": device,
                                              "tasks": tasks, "limit": args.limit, "scorers": SCORERS, "rows": rows})
    for row in rows:
        if row["task"] in tasks or row["family"] == row["task"] or row["metric"] == "judge":
            undecided = f", {row['undecided']} undecided" if "undecided" in row else ""
            print(f"  {row['task']:<24} {row['metric']}/{row['filter']:<18} {row['value']:.4f}  (n={row['n']}{undecided})",
                  file=sys.stderr)
    print(f"eval: summary -> {out / 'summary.json'}", file=sys.stderr)
    return 0
