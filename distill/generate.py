"""Make new, harder problems from seed problems with Orca-Math's agents (seed 004), through the teacher.

Agents (prompt presets in recipes/prompts/, replaceable with --*-prompt):
  ask_me_anything   orca_ask_me_anything: the problem and its answer become a statement, then one new
                    question per number in it (needs the seed's answer: --answer-field)
  suggester_editor  orca_suggester proposes ways to make the problem harder; orca_editor rewrites it
                    following them. --rounds rounds (default 2, as the paper): each round edits the
                    previous round's problem.
Every new problem is then answered by the teacher (--answer-prompt, default step_by_step). Dropped,
with the reason, into OUT.dropped.jsonl: problems whose agent reply could not be read, that the teacher
could not answer (failed after retries, or no final answer found), or whose answer is longer than
--max-answer-chars (default 1800, the paper's limit; the answer is the reply without its reasoning).
Near-duplicates of each other and of --test files (evaluation sets) are flagged with decontam's method
(TF-IDF + 1-gram Jaccard, shared 8-grams) in each record's `flags`; --drop-flagged drops them.

Output (OUT, written whole at the end): distill's record (id, question, gold = the teacher's final answer,
prompt, reasoning, answer, finish_reason, usage, model, latency_s, attempts) plus the lineage: parent_id
(the seed's or previous round's id), agent, round, flags. It feeds `judge`, `convert` and `sample` as it is.
Every teacher call is kept in OUT.work/<step>.jsonl as it lands, so a re-run asks only for what is missing
(exit 1 when some calls still failed: run again).

  mathmind generate --questions data/seed.jsonl --out runs/generated.jsonl --test data/gsm8k_test.jsonl
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from mathmind.errors import UserError

AGENTS = ("ask_me_anything", "suggester_editor")
QUESTION_LINE = re.compile(r"^\W*(?:Question|Q)\s*\d*\W*?[:：]\W*(.+?)\s*$", re.I | re.M)
NEW_PROBLEM = re.compile(r"New problem\s*\**\s*[:：]\s*\**\s*(.+)", re.I | re.S)


def configure(parser: argparse.ArgumentParser) -> None:
    from mathmind.distill.cli import add_api_arguments

    io = parser.add_argument_group("input and output")
    io.add_argument("--questions", required=True, metavar="SOURCE", help="seed problems: a local file/folder, modelscope:ID or hf:ID")
    io.add_argument("--question-field", default="question")
    io.add_argument("--answer-field", default=None, help="the seed's answer (default: answer, else answer_number)")
    io.add_argument("--limit", type=int, default=None, metavar="N", help="only the first N seed problems")
    io.add_argument("--out", required=True, type=Path, metavar="FILE.jsonl", help="new problems with the teacher's answers")
    agents = parser.add_argument_group("agents")
    agents.add_argument("--agents", default=",".join(AGENTS), help=f"comma-separated, from {', '.join(AGENTS)} (default both)")
    agents.add_argument("--rounds", type=int, default=2, help="Suggester/Editor rounds (default 2)")
    agents.add_argument("--ask-me-anything-prompt", default="orca_ask_me_anything", metavar="NAME|PATH")
    agents.add_argument("--suggester-prompt", default="orca_suggester", metavar="NAME|PATH")
    agents.add_argument("--editor-prompt", default="orca_editor", metavar="NAME|PATH")
    agents.add_argument("--answer-prompt", default="step_by_step", metavar="NAME|PATH", help="how new problems are answered")
    agents.add_argument("--max-answer-chars", type=int, default=1800, help="drop problems answered longer (default 1800)")
    checks = parser.add_argument_group("duplicates and contamination")
    checks.add_argument("--test", type=Path, nargs="*", default=[], metavar="FILE.jsonl",
                        help="evaluation sets (field `question`): generated problems close to them are flagged")
    checks.add_argument("--drop-flagged", action="store_true", help="drop flagged problems instead of only flagging them")
    add_api_arguments(parser, "teacher", default_model="deepseek-r1", default_concurrency=30)


class Steps:
    """Teacher calls in named steps, each kept in OUT.work/<step>.jsonl (the distill job: resumable, concurrent)."""

    def __init__(self, work: Path, args: argparse.Namespace):
        from mathmind.distill.cli import api_key_from_env, teacher_settings

        self.work, self.args = work, args
        self.settings, self.api_key = teacher_settings(args), api_key_from_env(args.api_key_env)
        self.failed_calls = 0

    def ask(self, step: str, prompt: Any, items: list[tuple[str, dict[str, Any]]]) -> tuple[dict[str, dict], dict[str, str]]:
        """(replies by id, failure reasons by id) for items of (id, fields the prompt needs)."""
        from mathmind.distill.run import Job, distill_async, done_ids, errors_path
        from mathmind.jsonl import iter_jsonl

        out = self.work / f"{step}.jsonl"
        skip = done_ids(out)
        jobs = [Job(i, fields["question"], None, prompt.render(fields, f"{step} {i}")) for i, fields in items if i not in skip]
        if jobs:
            print(f"generate: {step}: asking {len(jobs)} ({len(items) - len(jobs)} already answered)", file=sys.stderr)
            summary = asyncio.run(distill_async(iter(jobs), len(items), len(items) - len(jobs), out, prompt.name, self.settings,
                                                self.api_key, self.args.concurrency, progress=not self.args.no_progress))
            self.failed_calls += summary.failed
        wanted = {i for i, _ in items}
        replies = {r["id"]: r for _, r in iter_jsonl(out) if r["id"] in wanted} if out.exists() else {}
        errors = errors_path(out)
        failures = {r["id"]: r["reason"] for _, r in iter_jsonl(errors)} if jobs and errors.exists() else {}
        return replies, failures


def ask_me_anything(steps: Steps, prompt: Any, seeds: list[tuple[str, str, Any]]) -> tuple[list[dict], list[dict]]:
    items = [(f"{key}~ama", {"question": q, "answer": str(gold)}) for key, q, gold in seeds]
    replies, failures = steps.ask("ask_me_anything", prompt, items)
    made, dropped = [], []
    for key, question, _ in seeds:
        lineage = {"parent_id": key, "agent": "ask_me_anything", "round": 1}
        reply = replies.get(f"{key}~ama")
        found = QUESTION_LINE.findall(reply["answer"]) if reply else []
        if not found:
            why = f"teacher failed: {failures[f'{key}~ama']}" if f"{key}~ama" in failures else \
                "no 'Question N:' line in the reply" if reply else "not asked"
            dropped.append({"id": f"{key}~ama", "question": question, **lineage, "reason": f"ask_me_anything: {why}"})
        made += [{"id": f"{key}~ama{n + 1}", "question": text, **lineage} for n, text in enumerate(found)]
    return made, dropped


def suggester_editor(steps: Steps, suggester: Any, editor: Any, seeds: list[tuple[str, str, Any]],
                     rounds: int) -> tuple[list[dict], list[dict]]:
    made, dropped = [], []
    current = [(key, key, question) for key, question, _ in seeds]   # (seed key, parent id, problem)
    for r in range(1, rounds + 1):
        suggestions, failed_s = steps.ask(f"suggest{r}", suggester, [(f"{key}~suggest{r}", {"question": q}) for key, _, q in current])
        asked = [(key, parent, q) for key, parent, q in current if f"{key}~suggest{r}" in suggestions]
        edits, failed_e = steps.ask(f"edit{r}", editor, [(f"{key}~edit{r}", {"question": q, "suggestions": suggestions[f"{key}~suggest{r}"]["answer"]})
                                                          for key, _, q in asked])
        following = []
        for key, parent, q in current:
            new_id, lineage = f"{key}~edit{r}", {"parent_id": parent, "agent": "suggester_editor", "round": r}
            edit = edits.get(new_id)
            match = NEW_PROBLEM.search(edit["answer"]) if edit else None
            if match and match.group(1).strip():
                made.append({"id": new_id, "question": match.group(1).strip(), **lineage})
                following.append((key, new_id, match.group(1).strip()))
                continue
            failure = failed_s.get(f"{key}~suggest{r}") or failed_e.get(new_id)
            why = f"teacher failed: {failure}" if failure else "no 'New problem:' in the Editor's reply" if edit else "not asked"
            dropped.append({"id": new_id, "question": q, **lineage, "reason": f"suggester_editor round {r}: {why}"})
        current = following
    return made, dropped


def answer_and_filter(steps: Steps, prompt: Any, made: list[dict], max_chars: int) -> tuple[list[dict], list[dict]]:
    from mathmind.distill.run import RECORD_FIELDS
    from mathmind.judge.answers import final_answer

    answers, failures = steps.ask("answer", prompt, [(p["id"], {"question": p["question"]}) for p in made])
    kept, dropped = [], []
    for problem in made:
        reply = answers.get(problem["id"])
        final = final_answer(reply["answer"]) if reply else None
        if reply is None:
            reason = f"teacher could not answer: {failures.get(problem['id'], 'not asked')}"
        elif final is None or final.value is None:
            reason = "teacher could not answer: no final answer in its reply"
        elif len(reply["answer"]) > max_chars:
            reason = f"answer longer than {max_chars} characters ({len(reply['answer'])})"
        else:
            record = {name: reply[name] for name in RECORD_FIELDS}
            kept.append({**record, "gold": final.value, "parent_id": problem["parent_id"], "agent": problem["agent"],
                         "round": problem["round"], "flags": []})
            continue
        dropped.append({**problem, "reason": reason})
    return kept, dropped


def flag_duplicates(kept: list[dict], tests: list[Path]) -> None:
    """Near-duplicates among the new problems (the later one is flagged) and of the evaluation sets."""
    from mathmind.distill.decontam import Item, find_pairs, read_items

    items = [Item("generated", i, r["question"]) for i, r in enumerate(kept)]
    if len(items) > 1:
        for pair in find_pairs(items, items):
            first, later = sorted((pair["train_line"], pair["test_line"]))
            if first != later and f"near-duplicate of {kept[first]['id']}" not in kept[later]["flags"]:
                kept[later]["flags"].append(f"near-duplicate of {kept[first]['id']}")
    test_items = [item for path in tests for item in read_items(path, "question")]
    if items and test_items:
        for pair in find_pairs(items, test_items):
            kept[pair["train_line"]]["flags"].append(f"close to {pair['test_file']}:{pair['test_line']} ({'+'.join(pair['reasons'])})")


def run(args: argparse.Namespace) -> int:
    from mathmind.distill.prompts import load_prompt
    from mathmind.distill.sources import question_rows
    from mathmind.jsonl import write_text_atomic

    agents = [a.strip() for a in args.agents.split(",") if a.strip()]
    unknown = set(agents) - set(AGENTS)
    if unknown or not agents:
        raise UserError(f"--agents {args.agents!r}: choose from {', '.join(AGENTS)}")
    if args.rounds < 1 or args.max_answer_chars < 1:
        raise UserError("--rounds and --max-answer-chars must be >= 1")
    for path in args.test:
        if not path.is_file():
            raise UserError(f"--test {path}: no such file")
    triples, _ = question_rows(args.questions, args.question_field, args.answer_field, args.limit)
    seeds = [(row.key, question, gold) for row, question, gold in triples]
    if "ask_me_anything" in agents:
        missing = next((key for key, _, gold in seeds if gold in (None, "")), None)
        if missing:
            raise UserError(f"{missing}: no answer for the Ask Me Anything agent (it needs one; use --answer-field, "
                            f"or --agents suggester_editor)")
    steps = Steps(args.out.with_name(args.out.name.removesuffix(".jsonl") + ".work"), args)
    made, dropped = [], []
    if "ask_me_anything" in agents:
        new, gone = ask_me_anything(steps, load_prompt(args.ask_me_anything_prompt), seeds)
        made, dropped = made + new, dropped + gone
    if "suggester_editor" in agents:
        new, gone = suggester_editor(steps, load_prompt(args.suggester_prompt), load_prompt(args.editor_prompt), seeds, args.rounds)
        made, dropped = made + new, dropped + gone
    kept, gone = answer_and_filter(steps, load_prompt(args.answer_prompt), made, args.max_answer_chars)
    dropped += gone
    flag_duplicates(kept, args.test)
    if args.drop_flagged:
        dropped += [{**r, "reason": "; ".join(r["flags"])} for r in kept if r["flags"]]
        kept = [r for r in kept if not r["flags"]]
    lines = lambda rows: "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)   # noqa: E731
    write_text_atomic(args.out, lines(kept))
    dropped_path = args.out.with_name(args.out.name.removesuffix(".jsonl") + ".dropped.jsonl")
    write_text_atomic(dropped_path, lines(dropped))
    by_agent = Counter(f"{r['agent']} round {r['round']}" for r in kept)
    reasons = Counter(re.sub(r"\(.*|: .*", "", d["reason"]).strip() for d in dropped)
    print(f"generate: {len(seeds)} seed problems -> {len(made)} new problems; kept {len(kept)} "
          f"({', '.join(f'{k}: {v}' for k, v in sorted(by_agent.items())) or 'none'}); {args.out}", file=sys.stderr)
    print(f"generate: dropped {len(dropped)} ({', '.join(f'{k}: {v}' for k, v in reasons.most_common()) or 'none'}); {dropped_path}",
          file=sys.stderr)
    print(f"generate: flagged {sum(1 for r in kept if r['flags'])} kept problems as near-duplicates or close to --test",
          file=sys.stderr)
    if steps.failed_calls:
        print(f"generate: {steps.failed_calls} teacher call(s) failed after retries; run again to ask for them", file=sys.stderr)
    return 1 if steps.failed_calls else 0
