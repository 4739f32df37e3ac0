"""Preference data from judged student samples (seed 004): KTO examples and DPO pairs.

Input: `mathmind judge` output over `mathmind sample` records (gold = the teacher's answer, verdict =
whether the student's answer matches it). Per question:
  KTO  label true: the teacher's answer and each accepted student answer; label false: each rejected
       student answer. A question with no rejected answer borrows --borrow-negatives answers given to
       other questions (label false), as Orca-Math did.
  DPO  one pair per rejected student answer; chosen cycles through the teacher's answer and the
       accepted student answers. Questions without a rejected answer borrow negatives the same way.
Undecided verdicts are left out (counted). Identical answers to one question count once.

Written to --out DIR (every file atomically, so a killed run leaves the old files or none, and a
re-run writes the same files again):
  NAME.kto.jsonl, NAME.dpo.jsonl   TRL's conversational formats: prompt/completion/label and
                                   prompt/chosen/rejected (message lists); for TRL's trainers as they are
  NAME_kto.json, NAME_dpo.json     LLaMA-Factory sharegpt, registered in DIR/dataset_info.json as NAME_kto
                                   (`kto_tag` column `label`) and NAME_dpo (`ranking: true`, `chosen`/
                                   `rejected` columns); `mathmind train` with stage kto / dpo reads these
  NAME.summary.json                the counts printed at the end

It prints how many questions had student positives, negatives, both, neither, the KTO
desirable:undesirable ratio and weights that bring it into TRL's advised 1:1..4:3 range (recipe keys
kto_chosen_weight / kto_rejected_weight).

  mathmind pairs --in runs/samples.judged.jsonl --out runs/pairs --name orca_iter2
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mathmind.errors import UserError

# TRL's KTO advice: weighted desirable / weighted undesirable within [1, 4/3].
KTO_RATIO_LOW, KTO_RATIO_HIGH = 1.0, 4 / 3
LF_TAGS = {"role_tag": "from", "content_tag": "value", "user_tag": "user", "assistant_tag": "assistant"}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--in", dest="input", required=True, type=Path, metavar="FILE.jsonl",
                        help="judged samples (mathmind sample, then mathmind judge)")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="folder for the datasets and dataset_info.json")
    parser.add_argument("--name", default="orca", help="dataset name prefix (default orca: orca_kto, orca_dpo)")
    parser.add_argument("--borrow-negatives", type=int, default=1, metavar="N",
                        help="negatives borrowed from other questions for a question with none (default 1; 0: none)")
    parser.add_argument("--no-teacher", action="store_true",
                        help="leave the teacher's answer out (only student answers as positives and chosen)")
    parser.add_argument("--seed", type=int, default=0, help="for picking borrowed negatives (default 0)")


@dataclass
class Question:
    text: str
    teacher: str
    positives: list[str] = field(default_factory=list)
    negatives: list[str] = field(default_factory=list)
    undecided: int = 0


def completion_text(record: dict[str, Any]) -> str:
    """The student's whole response as the model writes it (reasoning in <think>, as `convert` builds SFT data)."""
    reasoning = (record.get("reasoning") or "").strip()
    return (f"<think>\n{reasoning}\n</think>\n\n" if reasoning else "") + (record.get("answer") or "")


def read_questions(path: Path) -> list[Question]:
    from mathmind.jsonl import iter_jsonl

    by_text: dict[str, Question] = {}
    for line_no, record in iter_jsonl(path):
        for name in ("question", "gold", "answer", "verdict"):
            if name not in record:
                raise UserError(f"{path}:{line_no}: missing field {name!r} (pairs reads judged samples: "
                                f"mathmind sample, then mathmind judge)")
        q = by_text.setdefault(record["question"], Question(record["question"], str(record["gold"])))
        text = completion_text(record)
        verdict = record["verdict"]
        if verdict == "accept" and text not in q.positives:
            q.positives.append(text)
        elif verdict == "reject" and text.strip() and text not in q.negatives:
            q.negatives.append(text)
        elif verdict not in ("accept", "reject"):
            q.undecided += 1
    if not by_text:
        raise UserError(f"--in {path}: no records")
    return list(by_text.values())


def borrowed(questions: list[Question], index: int, n: int, rng: random.Random) -> list[str]:
    """n answers given to other questions: wrong for this one whatever their verdict there."""
    others = [i for i in range(len(questions)) if i != index]
    out: list[str] = []
    for _ in range(n * 5):
        if len(out) >= n or not others:
            break
        other = questions[rng.choice(others)]
        pool = other.positives + other.negatives or [other.teacher]
        pick = rng.choice(pool)
        if pick not in out and pick != questions[index].teacher:
            out.append(pick)
    return out


def suggest_kto_weights(desirable: int, undesirable: int) -> tuple[float, float] | None:
    """(kto_chosen_weight, kto_rejected_weight) putting weighted desirable:undesirable mid-way in [1, 4/3]."""
    if not desirable or not undesirable:
        return None
    if KTO_RATIO_LOW <= desirable / undesirable <= KTO_RATIO_HIGH:
        return 1.0, 1.0
    middle = (KTO_RATIO_LOW + KTO_RATIO_HIGH) / 2
    if desirable > undesirable:
        return round(middle * undesirable / desirable, 3), 1.0
    return 1.0, round(desirable / (middle * undesirable), 3)


def build(questions: list[Question], borrow: int, use_teacher: bool, seed: int) -> tuple[list, list, dict[str, Any]]:
    rng = random.Random(seed)
    kto, dpo = [], []
    counts = {"questions": len(questions), "with_positives": 0, "with_negatives": 0, "with_both": 0,
              "all_correct": 0, "all_wrong": 0, "no_verdict": 0, "undecided_samples": 0, "borrowed_negatives": 0}
    for i, q in enumerate(questions):
        counts["undecided_samples"] += q.undecided
        has_pos, has_neg = bool(q.positives), bool(q.negatives)
        counts["with_positives"] += has_pos
        counts["with_negatives"] += has_neg
        counts["with_both"] += has_pos and has_neg
        counts["all_correct"] += has_pos and not has_neg
        counts["all_wrong"] += has_neg and not has_pos
        counts["no_verdict"] += not has_pos and not has_neg
        good = ([q.teacher] if use_teacher else []) + [p for p in q.positives if p != q.teacher]
        bad = list(q.negatives)
        if not bad and good and borrow:
            bad = borrowed(questions, i, borrow, rng)
            counts["borrowed_negatives"] += len(bad)
        kto += [(q.text, text, True) for text in good] + [(q.text, text, False) for text in bad]
        if good:
            dpo += [(q.text, good[j % len(good)], text) for j, text in enumerate(bad)]
    counts["kto_desirable"] = sum(1 for _, _, label in kto if label)
    counts["kto_undesirable"] = len(kto) - counts["kto_desirable"]
    counts["dpo_pairs"] = len(dpo)
    weights = suggest_kto_weights(counts["kto_desirable"], counts["kto_undesirable"])
    counts["suggested_kto_chosen_weight"], counts["suggested_kto_rejected_weight"] = weights or (None, None)
    return kto, dpo, counts


def _user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def _assistant(text: str) -> list[dict[str, str]]:
    return [{"role": "assistant", "content": text}]


def _lines(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def write(out: Path, name: str, kto: list, dpo: list, counts: dict[str, Any]) -> None:
    from mathmind.convert.cli import Format, register
    from mathmind.jsonl import write_json_atomic, write_text_atomic

    files = [f"{name}.kto.jsonl", f"{name}.dpo.jsonl", f"{name}_kto.json", f"{name}_dpo.json", f"{name}.summary.json",
             "dataset_info.json"]
    for stale in (t for f in files for t in out.glob(f".{f}.*")):   # temporary files of a run killed mid-write
        stale.unlink(missing_ok=True)
    write_text_atomic(out / f"{name}.kto.jsonl", _lines([{"prompt": _user(q), "completion": _assistant(c), "label": label}
                                                         for q, c, label in kto]))
    write_text_atomic(out / f"{name}.dpo.jsonl", _lines([{"prompt": _user(q), "chosen": _assistant(c), "rejected": _assistant(r)}
                                                         for q, c, r in dpo]))
    turn = lambda role, text: {"from": role, "value": text}   # noqa: E731
    kto_lf = [{"conversations": [turn("user", q), turn("assistant", c)], "label": label} for q, c, label in kto]
    dpo_lf = [{"conversations": [turn("user", q)], "chosen": turn("assistant", c), "rejected": turn("assistant", r)}
              for q, c, r in dpo]
    info = out / "dataset_info.json"
    for suffix, rows, fmt in (
        ("kto", kto_lf, Format(None, "sharegpt", {"messages": "conversations", "kto_tag": "label"}, LF_TAGS)),
        ("dpo", dpo_lf, Format(None, "sharegpt", {"messages": "conversations", "chosen": "chosen", "rejected": "rejected"},
                               LF_TAGS, ranking=True)),
    ):
        path = out / f"{name}_{suffix}.json"
        write_json_atomic(path, rows)
        register(info, f"{name}_{suffix}", path, fmt)
    write_json_atomic(out / f"{name}.summary.json", counts)


def report(counts: dict[str, Any]) -> list[str]:
    c = counts
    lines = [f"questions: {c['questions']}; with student positives {c['with_positives']}, negatives {c['with_negatives']}, "
             f"both {c['with_both']}; all correct {c['all_correct']}, all wrong {c['all_wrong']}, no verdict {c['no_verdict']}",
             f"undecided samples left out: {c['undecided_samples']}; negatives borrowed from other questions: {c['borrowed_negatives']}",
             f"KTO examples: {c['kto_desirable']} desirable, {c['kto_undesirable']} undesirable; DPO pairs: {c['dpo_pairs']}"]
    d, u = c["kto_desirable"], c["kto_undesirable"]
    if d and u:
        chosen, rejected = c["suggested_kto_chosen_weight"], c["suggested_kto_rejected_weight"]
        lines.append(f"desirable:undesirable = {d}:{u} ({d / u:.2f}); TRL advises weighted desirable:undesirable within "
                     f"1:1..4:3: suggested kto_chosen_weight: {chosen}, kto_rejected_weight: {rejected} "
                     f"(weighted {d * chosen / (u * rejected):.2f})")
    else:
        lines.append("KTO needs both desirable and undesirable examples: "
                     + ("none are undesirable (raise --borrow-negatives)" if d else "none are desirable"))
    return lines


def run(args: argparse.Namespace) -> int:
    if args.borrow_negatives < 0:
        raise UserError(f"--borrow-negatives must be >= 0, got {args.borrow_negatives}")
    questions = read_questions(args.input)
    kto, dpo, counts = build(questions, args.borrow_negatives, not args.no_teacher, args.seed)
    write(args.out, args.name, kto, dpo, counts)
    for line in report(counts):
        print(f"pairs: {line}", file=sys.stderr)
    print(f"pairs: {args.out}/{args.name}.kto.jsonl, {args.name}.dpo.jsonl (TRL); {args.name}_kto, {args.name}_dpo "
          f"registered in {args.out / 'dataset_info.json'}", file=sys.stderr)
    return 0
