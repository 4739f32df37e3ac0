"""Ask a teacher model for step-by-step answers to math questions; write one jsonl record per answer.

Questions come from ModelScope (modelscope:modelscope/gsm8k?subset=main&split=train), Hugging Face
(hf:openai/gsm8k?subset=main&split=train) or local .jsonl/.json/.csv/.parquet files or folders. The
teacher is any OpenAI-compatible chat API (DeepSeek-R1 on DashScope by default, as in seed 002).

Each answer is appended and flushed as it arrives; re-running the same command skips ids already in
--out and asks again for what failed or was in flight when a run was killed. Failures after all
retries go to OUT.errors.jsonl with the reason.

Output record: id, question, gold, prompt, reasoning (reasoning_content, or <think> split out of
content), answer, finish_reason, usage {prompt_tokens, completion_tokens, reasoning_tokens}, model,
latency_s, attempts.

The API key is read from an environment variable (--api-key-env, else API_KEY, else
OPENAI_API_KEY) and never printed or written.

example:
  export API_KEY=sk-...
  mathmind distill --questions modelscope:modelscope/gsm8k?subset=main\\&split=train --limit 1000 \\
      --prompt seed002_dad_zh --out runs/r1_distill.jsonl --concurrency 30
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable, TypeVar

from mathmind.errors import UserError

if TYPE_CHECKING:
    from mathmind.distill.teacher import TeacherSettings

T = TypeVar("T")
DASHSCOPE_URL = "https://dashscope.aliyuncs.com/compatible-mode/v1"


def configure(parser: argparse.ArgumentParser) -> None:
    io = parser.add_argument_group("input and output")
    io.add_argument("--questions", required=True, metavar="SOURCE", help="modelscope:ID?subset=..&split=.., hf:ID?.., or a local file/folder")
    io.add_argument("--out", required=True, type=Path, metavar="FILE.jsonl", help="answers, appended; errors go to FILE.errors.jsonl")
    io.add_argument("--question-field", default="question", help="column holding the question (default: question)")
    io.add_argument("--answer-field", default=None, help="column holding the gold answer (default: answer, else answer_number)")
    io.add_argument("--limit", type=int, default=None, metavar="N", help="only the first N questions")
    io.add_argument("--prompt", default="step_by_step", metavar="NAME|PATH",
                    help="preset under recipes/prompts (step_by_step, seed002_dad_zh, seed000_pot_zh, seed003_answer_zh, "
                         "seed003_evaluate_zh) or a .yaml/.txt file with {question}")
    io.add_argument("--samples-per-question", type=int, default=1, metavar="K", help="answers asked per question (default 1)")
    add_api_arguments(parser, "teacher", default_model="deepseek-r1", default_concurrency=30)
    run = parser.add_argument_group("cost and output")
    run.add_argument("--price-in", type=float, default=None, help="price per million prompt tokens, for the cost estimate")
    run.add_argument("--price-out", type=float, default=None, help="price per million completion tokens")


def add_api_arguments(parser: argparse.ArgumentParser, role: str, default_model: str, default_concurrency: int) -> None:
    """The OpenAI-compatible API flags, the same for the teacher (distill) and the LLM judge."""
    api = parser.add_argument_group(f"{role} API")
    api.add_argument("--model", default=default_model, help=f"model name at the API (default {default_model})")
    api.add_argument("--base-url", default=None, help=f"API base URL (default: $OPENAI_BASE_URL, else {DASHSCOPE_URL})")
    api.add_argument("--api-key-env", default=None, metavar="VAR", help="environment variable holding the key (default: API_KEY, else OPENAI_API_KEY)")
    api.add_argument("--temperature", type=float, default=None)
    api.add_argument("--top-p", type=float, default=None)
    api.add_argument("--max-tokens", type=int, default=None)
    api.add_argument("--stream", action="store_true", help="stream answers (long R1 answers get no idle-connection timeouts)")
    run = parser.add_argument_group("concurrency and retries")
    run.add_argument("--concurrency", type=int, default=default_concurrency,
                     help=f"requests in flight at most (default {default_concurrency}); lowered on sustained 429s, then recovered")
    run.add_argument("--rpm", type=float, default=None, help="cap on requests started per minute")
    run.add_argument("--timeout", type=float, default=600.0, metavar="S", help="seconds per request (default 600: R1 thinks long)")
    run.add_argument("--max-retries", type=int, default=5, metavar="N", help="retries per sample for 429/5xx/timeouts/bad or empty answers (default 5)")
    run.add_argument("--retry-base-delay", type=float, default=1.0, metavar="S", help="first backoff delay; doubles each retry, with jitter (default 1)")
    run.add_argument("--no-progress", action="store_true", help="no progress bar (logs, batch jobs)")


def teacher_settings(args: argparse.Namespace) -> "TeacherSettings":
    from mathmind.distill.teacher import TeacherSettings

    if args.concurrency < 1:
        raise UserError(f"--concurrency must be >= 1, got {args.concurrency}")
    if args.max_retries < 0:
        raise UserError(f"--max-retries must be >= 0, got {args.max_retries}")
    return TeacherSettings(
        model=args.model, base_url=args.base_url or os.environ.get("OPENAI_BASE_URL") or DASHSCOPE_URL,
        temperature=args.temperature, top_p=args.top_p, max_tokens=args.max_tokens, timeout_s=args.timeout,
        max_retries=args.max_retries, retry_base_delay_s=args.retry_base_delay, stream=args.stream, rpm=args.rpm)


def api_key_from_env(var: str | None) -> str:
    names = [var] if var else ["API_KEY", "OPENAI_API_KEY"]
    for name in names:
        if os.environ.get(name):
            return os.environ[name]
    raise UserError(f"no API key: set {' or '.join(names)} (the key is read from the environment, never from a flag)")


def run(args: argparse.Namespace) -> int:
    from mathmind.distill.prompts import load_prompt
    from mathmind.distill.run import distill_async, done_ids, errors_path, make_jobs
    from mathmind.distill.sources import is_hub_source, question_rows
    from mathmind.jsonl import check_output_path
    from mathmind.distill.teacher import FatalTeacherError

    # Checks that cost nothing (flags, files, fields, the output path) come before the API key, and all
    # of them are reported together, so one run shows every problem; a hub source is loaded only after.
    problems: list[str] = []

    def check(step: Callable[[], T]) -> T | None:
        try:
            return step()
        except UserError as e:
            problems.append(str(e))
            return None

    if args.samples_per_question < 1:
        problems.append(f"--samples-per-question must be >= 1, got {args.samples_per_question}")
    settings = check(lambda: teacher_settings(args))
    prompt = check(lambda: load_prompt(args.prompt))
    check(lambda: check_output_path(args.out, "--out"))
    questions_read = None if is_hub_source(args.questions) else check(
        lambda: question_rows(args.questions, args.question_field, args.answer_field, args.limit))
    api_key = check(lambda: api_key_from_env(args.api_key_env))
    if len(problems) == 1:
        raise UserError(problems[0])
    if problems:
        raise UserError(f"{len(problems)} problems:\n  " + "\n  ".join(problems))
    triples, questions = questions_read or question_rows(args.questions, args.question_field, args.answer_field, args.limit)
    skip = done_ids(args.out)
    total = questions * args.samples_per_question
    skipped = min(len(skip), total)
    print(f"distill: {total} answers wanted from {settings.model} at {settings.base_url}; {skipped} already in {args.out}",
          file=sys.stderr)
    jobs = make_jobs(triples, prompt, args.samples_per_question, skip)
    try:
        summary = asyncio.run(distill_async(jobs, total, skipped, args.out, prompt.name, settings, api_key,
                                            args.concurrency, args.price_in, args.price_out,
                                            progress=not args.no_progress))
    except FatalTeacherError as e:
        raise UserError(f"the teacher refused the request: {e}; nothing more was asked, answers so far are kept in {args.out}") from None
    for line in summary.lines():
        print(line, file=sys.stderr)
    print(f"answers: {args.out}" + (f"; failures: {errors_path(args.out)} (re-run to retry them)" if summary.failed else ""),
          file=sys.stderr)
    return 1 if summary.failed else 0
