"""Sample k answers per question from the student (seed 004: k=4, temperature 0.7, top_p 0.95).

The student is either an OpenAI-compatible server (vLLM, vLLM-Ascend, MindIE, LMDeploy: --base-url,
through the same client as distill: concurrency, retries, resume) or a local model folder
(--model-path: batched transformers `generate` on the device mathmind.hardware picks; for small
runs, tests and the demo).

Input (--questions): the teacher's records (from `mathmind distill`, `judge` or `generate`: fields
question and answer). Records a judge rejected are skipped; the first answer kept per question is the
teacher's. Output: one record per sample, distill's schema (id, question, gold, prompt, reasoning,
answer, finish_reason, usage, model, latency_s, attempts), with `gold` the teacher's answer, so
`mathmind judge` compares each sample with the teacher (Orca-Math's positives and negatives).
Ids are `<teacher question id>#<sample>`; a re-run skips samples already in --out.

Each server request asks for one sample, so a server that returns fewer choices than asked or errors
costs only that sample: it is retried, and written to OUT.errors.jsonl when it keeps failing (exit 1;
re-run to fill the gaps).

  mathmind sample --questions runs/judged.jsonl --base-url http://127.0.0.1:8000/v1 --model student \\
      --out runs/samples.jsonl
  mathmind sample --questions runs/judged.jsonl --model-path saves/sft --out runs/samples.jsonl --limit 200
  mathmind judge --in runs/samples.jsonl --out runs/samples.judged.jsonl
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
from pathlib import Path
from typing import Iterator

from mathmind.errors import UserError

SAMPLE_SUFFIX = re.compile(r"#\d+$")


def configure(parser: argparse.ArgumentParser) -> None:
    from mathmind.distill.cli import add_api_arguments

    io = parser.add_argument_group("input and output")
    io.add_argument("--questions", required=True, type=Path, metavar="FILE.jsonl",
                    help="the teacher's records (distill/judge/generate output: question, answer)")
    io.add_argument("--out", required=True, type=Path, metavar="FILE.jsonl", help="samples, appended; errors go to FILE.errors.jsonl")
    io.add_argument("--k", type=int, default=4, help="samples per question (default 4, as Orca-Math)")
    io.add_argument("--limit", type=int, default=None, metavar="N", help="only the first N questions")
    io.add_argument("--prompt", default="plain", metavar="NAME|PATH",
                    help="prompt preset (default plain: the bare question, as mathmind's SFT data shows it)")
    io.add_argument("--model-path", default=None, metavar="DIR",
                    help="a local model folder: sample with transformers instead of a server")
    local = parser.add_argument_group("local model (--model-path)")
    local.add_argument("--batch-size", type=int, default=16, help="sequences generated together (default 16)")
    local.add_argument("--seed", type=int, default=0)
    add_api_arguments(parser, "student", default_model="student", default_concurrency=16)
    parser.set_defaults(temperature=0.7, top_p=0.95, max_tokens=1024)


def teacher_questions(path: Path, limit: int | None) -> list[tuple[str, str, str]]:
    """(question key, question, teacher's answer): the first kept teacher answer per question."""
    from mathmind.jsonl import iter_jsonl

    seen: set[str] = set()
    out = []
    for line_no, record in iter_jsonl(path):
        for name in ("question", "answer"):
            if not isinstance(record.get(name), str):
                raise UserError(f"{path}:{line_no}: field {name!r} is missing (a teacher record needs question and answer)")
        if record.get("verdict", "accept") != "accept" or record["question"] in seen or not record["answer"].strip():
            continue
        seen.add(record["question"])
        key = SAMPLE_SUFFIX.sub("", str(record.get("id") or f"{path.name}#{line_no - 1}"))
        out.append((key, record["question"], record["answer"]))
        if limit and len(out) >= limit:
            break
    if not out:
        raise UserError(f"--questions {path}: no teacher answers to sample against (none accepted, or the file is empty)")
    return out


def sample_jobs(questions: list[tuple[str, str, str]], prompt: object, k: int, skip: set[str], where: str) -> Iterator:
    from mathmind.distill.run import Job

    for key, question, teacher_answer in questions:
        text = prompt.render({"question": question}, f"{where} {key}")
        for j in range(k):
            if f"{key}#{j}" not in skip:
                yield Job(f"{key}#{j}", question, teacher_answer, text)


def sample_local(jobs: list, out: Path, prompt_name: str, model_path: str, settings: object, batch_size: int,
                 seed: int, progress: bool) -> int:
    """Generate every job with transformers on the device mathmind.hardware picks; append records as batches land."""
    from mathmind.hardware import detect
    from mathmind.hardware.runtime import prepare_runtime

    hw = detect()
    prepare_runtime({"MATHMIND_DEVICE_KIND": hw.kind})
    import torch
    from tqdm import tqdm
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from mathmind.distill.run import RECORD_FIELDS
    from mathmind.distill.teacher import split_reasoning
    from mathmind.jsonl import JsonlAppender

    tokenizer = AutoTokenizer.from_pretrained(model_path, padding_side="left")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    dtype = torch.bfloat16 if hw.bf16 and hw.kind != "cpu" else torch.float32
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=dtype).to(hw.eval_device).eval()
    torch.manual_seed(seed)
    name = Path(model_path).name
    eos = {tokenizer.eos_token_id, *([model.generation_config.eos_token_id] if isinstance(model.generation_config.eos_token_id, int)
                                    else model.generation_config.eos_token_id or [])} - {None}
    with JsonlAppender(out) as answers, tqdm(total=len(jobs), unit="sample", disable=not progress) as bar:
        for start in range(0, len(jobs), batch_size):
            batch = jobs[start:start + batch_size]
            texts = [tokenizer.apply_chat_template([{"role": "user", "content": job.prompt_text}], tokenize=False,
                                                   add_generation_prompt=True) for job in batch]
            inputs = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(hw.eval_device)
            started = time.monotonic()
            with torch.no_grad():
                generated = model.generate(**inputs, do_sample=True, temperature=settings.temperature, top_p=settings.top_p,
                                           max_new_tokens=settings.max_tokens, pad_token_id=tokenizer.pad_token_id)
            latency = round((time.monotonic() - started) / len(batch), 3)
            prompt_len = inputs["input_ids"].shape[1]
            for i, job in enumerate(batch):
                ids = generated[i, prompt_len:].tolist()
                ended = next((n for n, t in enumerate(ids) if t in eos), None)
                completion = ids[:ended] if ended is not None else ids
                reasoning, answer = split_reasoning(tokenizer.decode(completion, skip_special_tokens=True), None)
                prompt_tokens = int(inputs["attention_mask"][i].sum())
                record = {"id": job.id, "question": job.question, "gold": job.gold, "prompt": prompt_name,
                          "reasoning": reasoning, "answer": answer, "finish_reason": "stop" if ended is not None else "length",
                          "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(completion), "reasoning_tokens": 0},
                          "model": name, "latency_s": latency, "attempts": 1}
                answers.write({field: record[field] for field in RECORD_FIELDS})
            bar.update(len(batch))
    return len(jobs)


def run(args: argparse.Namespace) -> int:
    from mathmind.distill.cli import api_key_from_env, teacher_settings
    from mathmind.distill.prompts import load_prompt
    from mathmind.distill.run import distill_async, done_ids, errors_path
    from mathmind.distill.teacher import FatalTeacherError

    if args.k < 1:
        raise UserError(f"--k must be >= 1, got {args.k}")
    if bool(args.model_path) == bool(args.base_url):
        raise UserError("give exactly one of --base-url (a server serving the student) and --model-path (a local model folder)")
    if args.model_path and not (Path(args.model_path) / "config.json").is_file():
        raise UserError(f"--model-path {args.model_path}: not a model folder (no config.json)")
    settings = teacher_settings(args)
    prompt = load_prompt(args.prompt)
    questions = teacher_questions(args.questions, args.limit)
    skip = done_ids(args.out)
    total = len(questions) * args.k
    jobs = list(sample_jobs(questions, prompt, args.k, skip, str(args.questions)))
    student = args.model_path or f"{settings.model} at {settings.base_url}"
    print(f"sample: {total} samples ({len(questions)} questions x {args.k}) from {student}; "
          f"{total - len(jobs)} already in {args.out}", file=sys.stderr)
    if args.model_path:
        if args.batch_size < 1:
            raise UserError(f"--batch-size must be >= 1, got {args.batch_size}")
        done = sample_local(jobs, args.out, prompt.name, args.model_path, settings, args.batch_size, args.seed,
                            not args.no_progress)
        print(f"sample: {done} samples written to {args.out}", file=sys.stderr)
        return 0
    try:
        api_key = api_key_from_env(args.api_key_env)
    except UserError:
        if args.api_key_env:
            raise
        api_key = "EMPTY"   # a local vLLM / LMDeploy server usually wants no key
    try:
        summary = asyncio.run(distill_async(iter(jobs), total, total - len(jobs), args.out, prompt.name, settings, api_key,
                                            args.concurrency, progress=not args.no_progress))
    except FatalTeacherError as e:
        raise UserError(f"the student server refused the request: {e}; samples so far are kept in {args.out}") from None
    for line in summary.lines():
        print(line, file=sys.stderr)
    print(f"samples: {args.out}" + (f"; failures: {errors_path(args.out)} (re-run to retry them)" if summary.failed else ""),
          file=sys.stderr)
    return 1 if summary.failed else 0
