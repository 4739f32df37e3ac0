"""Judge teacher answers against the gold answer: rules first, an LLM only where the rules cannot decide.

Modes:
  rule    find the response's final committed answer and compare it with math-verify (no API calls)
  hybrid  rule verdicts stand where the rules are sure; only `undecided` records go to the LLM
  llm     every record goes to the LLM judge (seed 002's way: one paid call per sample)

Input: records from `mathmind distill` (id, question, gold, answer; reasoning and finish_reason are
used when present). Output: the same records, each with
  verdict     accept | reject | undecided
  extracted   the final answer found in the response (null when there is none)
  gold_value  the value read from the gold answer
  judge       rule | llm | human
  reason      why: equal, different; reject without comparing: empty_answer, truncated, no_final_answer
              (nothing committed: a refusal, reasoning that stops), hedged ("either 12 or 14"); undecided:
              ambiguous_final_answer (a conclusion naming several values), unreadable_answer, not_comparable,
              no_gold_value; for the LLM, its reply's last line
  form        how the rule judge found the final answer: boxed, phrase, bold, conclusion, closing_line,
              statement, with _words when it was written in words (null when none was found)

LLM calls use the distill client stack (concurrency, retries, 429 back-off) and are kept in
OUT.llm.jsonl as they arrive, so a killed run asks only for what is missing when re-run.
--review-out writes the undecided records to a CSV for a person; fill its `verdict` column with
accept or reject and pass it back with --review-in.

  mathmind judge --in runs/distill.jsonl --out runs/judged.jsonl                  # rules only
  mathmind judge --in runs/distill.jsonl --out runs/judged.jsonl --mode hybrid --review-out review.csv
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from mathmind.judge.answers import judge_by_rule
from mathmind.distill.cli import add_api_arguments, api_key_from_env, teacher_settings
from mathmind.errors import UserError
from mathmind.jsonl import check_output_path, iter_csv, iter_jsonl, write_text_atomic

JUDGE_FIELDS = ("verdict", "extracted", "gold_value", "judge", "reason", "form")
REVIEW_COLUMNS = ("id", "verdict", "reason", "extracted", "gold_value", "question", "answer")


def configure(parser: argparse.ArgumentParser) -> None:
    io_ = parser.add_argument_group("input and output")
    io_.add_argument("--in", dest="input", required=True, type=Path, metavar="FILE.jsonl", help="records from mathmind distill")
    io_.add_argument("--out", required=True, type=Path, metavar="FILE.jsonl", help="the records with verdicts (written atomically)")
    io_.add_argument("--mode", choices=("rule", "hybrid", "llm"), default="rule", help="default rule (no API calls)")
    io_.add_argument("--judge-prompt", default="judge_seed002_zh", metavar="NAME|PATH",
                     help="LLM judge prompt: judge_seed002_zh (seed 002), judge_en, or a .yaml with a `verdict` section")
    io_.add_argument("--review-out", type=Path, metavar="FILE.csv", help="write the undecided records here for a person")
    io_.add_argument("--review-in", type=Path, metavar="FILE.csv", help="apply a person's accept/reject verdicts from this CSV, or from `mathmind review`'s FILE.review.jsonl")
    add_api_arguments(parser, "LLM judge", default_model="deepseek-v3", default_concurrency=30)


def read_records(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise UserError(f"--in {path}: no such file")
    records, seen = [], set()
    for line_no, record in iter_jsonl(path):
        for name in ("id", "gold", "answer"):
            if name not in record:
                raise UserError(f"{path}:{line_no}: missing field {name!r} (a judge input record needs id, gold, answer)")
        if record["id"] in seen:
            raise UserError(f"{path}:{line_no}: id {record['id']!r} appears twice")
        seen.add(record["id"])
        records.append(record)
    return records


def llm_cache(out: Path) -> Path:
    return out.with_name(out.name.removesuffix(".jsonl") + ".llm.jsonl")


def read_llm_verdict(reply: str, verdict: dict[str, str]) -> tuple[str, str]:
    last_line = next((line.strip() for line in reversed(reply.strip().splitlines()) if line.strip()), "")
    for name in ("reject", "accept"):  # reject first: "INCORRECT" contains "CORRECT"
        if re.search(verdict[name], reply, re.I):
            return name, f"llm: {last_line[:120]}"
    return "undecided", f"llm_unreadable: {last_line[:120]}"


def ask_llm(records: list[dict[str, Any]], args: argparse.Namespace) -> tuple[dict[str, str], dict[str, str], int]:
    """Ask the LLM judge about `records` (resuming from OUT.llm.jsonl): replies by id, the verdict regexes, failures."""
    from mathmind.distill.prompts import load_prompt
    from mathmind.distill.run import Job, distill_async, done_ids

    prompt = load_prompt(args.judge_prompt)
    if not prompt.verdict:
        raise UserError(f"--judge-prompt {args.judge_prompt}: has no `verdict` section, so its replies cannot be read")
    cache = llm_cache(args.out)
    skip = done_ids(cache)
    jobs = [Job(r["id"], str(r.get("question", "")), r["gold"],
                prompt.render({**r, "answer": r["answer"] or "(empty answer)", "gold": str(r["gold"])}, f"{args.input} id {r['id']}"))
            for r in records if r["id"] not in skip]
    summary = None
    if jobs:
        settings = teacher_settings(args)
        print(f"judge: asking {settings.model} at {settings.base_url} about {len(jobs)} record(s); "
              f"{len(records) - len(jobs)} already answered in {cache}", file=sys.stderr)
        summary = asyncio.run(distill_async(iter(jobs), len(records), len(records) - len(jobs), cache, prompt.name,
                                            settings, api_key_from_env(args.api_key_env), args.concurrency,
                                            progress=not args.no_progress))
    replies = {r["id"]: r["answer"] for _, r in iter_jsonl(cache)} if cache.exists() else {}
    return replies, prompt.verdict, summary.failed if summary else 0


def apply_review(records: list[dict[str, Any]], path: Path) -> int:
    by_id = {r["id"]: r for r in records}
    applied = 0
    from mathmind.judge.review_data import review_log_rows

    for line_no, row in review_log_rows(path) if path.suffix == ".jsonl" else iter_csv(path):
        if not {"id", "verdict"} <= set(row):
            raise UserError(f"--review-in {path}: needs columns id and verdict (got {sorted(row)})")
        where = f"{path}:{line_no}"
        verdict = (row["verdict"] or "").strip().lower()
        if not verdict:
            continue
        if verdict not in ("accept", "reject"):
            raise UserError(f"{where}: verdict must be accept or reject (or empty), got {row['verdict']!r}")
        if row["id"] not in by_id:
            raise UserError(f"{where}: id {row['id']!r} is not in --in")
        by_id[row["id"]].update(verdict=verdict, judge="human", reason="review")
        applied += 1
    return applied


def review_csv(records: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, REVIEW_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for r in records:
        if r["verdict"] == "undecided":
            writer.writerow({**r, "verdict": "", "question": r.get("question", "")})
    return buffer.getvalue()


def run(args: argparse.Namespace) -> int:
    if args.review_in and not args.review_in.is_file():
        raise UserError(f"--review-in {args.review_in}: no such file")
    check_output_path(args.out, "--out")
    if args.review_out:
        check_output_path(args.review_out, "--review-out")
    records = read_records(args.input)
    for r in records:
        rule = judge_by_rule(r["answer"], r["gold"], r.get("finish_reason"))
        r.update(verdict=rule.verdict, extracted=rule.extracted, gold_value=rule.gold_value, judge="rule", reason=rule.reason,
                 form=rule.form)
    to_llm = [r for r in records if args.mode == "llm" or (args.mode == "hybrid" and r["verdict"] == "undecided")]
    failed = 0
    if to_llm:
        replies, verdict_regex, failed = ask_llm(to_llm, args)
        for r in to_llm:
            reply = replies.get(r["id"])
            if reply is None:
                r.update(verdict="undecided", judge="llm", reason="llm_failed (see the .llm.errors.jsonl; re-run to retry)")
                continue
            verdict, reason = read_llm_verdict(reply, verdict_regex)
            r.update(verdict=verdict, judge="llm", reason=reason)
    if args.review_in:
        print(f"judge: {apply_review(records, args.review_in)} verdict(s) taken from {args.review_in}", file=sys.stderr)
    write_text_atomic(args.out, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    verdicts = Counter(r["verdict"] for r in records)
    reasons = Counter(f"{r['judge']}:{r['reason'].split(':')[0]}" for r in records)
    print(f"judge ({args.mode}): {len(records)} records; " + ", ".join(f"{v} {verdicts[v]}" for v in ("accept", "reject", "undecided")),
          file=sys.stderr)
    print("  by reason: " + ", ".join(f"{k} {n}" for k, n in reasons.most_common()), file=sys.stderr)
    print(f"  LLM calls needed: {len(to_llm)} ({len(to_llm) / max(len(records), 1):.1%})", file=sys.stderr)
    if args.review_out:
        write_text_atomic(args.review_out, review_csv(records))
        print(f"  undecided for review: {verdicts['undecided']} -> {args.review_out}", file=sys.stderr)
    print(f"judged: {args.out}", file=sys.stderr)
    return 1 if failed else 0
