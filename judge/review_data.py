"""What `mathmind review` shows and keeps: items to review, the verdict log, the human-reviewed score.

Two sources:
  judged records (`mathmind judge` output): one item per record; `undecided` is the judge's verdict.
  an eval run folder (`mathmind eval --out RUN`): one item per lm-eval document of a generation task, from
    its newest samples_<task>_*.jsonl; `undecided` when lm-eval's extracted answer is empty or its score
    disagrees with mathmind's rule judge reading the same response (the looser match).

Verdicts (accept | reject | skip) are appended, one flushed and fsynced line each, to FILE.review.jsonl
(judged records) or RUN/review.jsonl (eval): the last line for an id wins, so re-running the command
resumes, and any number of browser tabs only ever add lines.
"""

from __future__ import annotations

import json
import math
import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from mathmind.errors import UserError
from mathmind.jsonl import iter_jsonl, repair_torn_tail, write_json_atomic

VERDICTS = ("accept", "reject", "skip")
HUMAN_FILTER = "human-reviewed"
INVALID = ("", "[invalid]")      # lm-eval's regex filters write [invalid] when nothing matched
# Script -> language, for judged records that carry no `lang` field (first match wins).
SCRIPTS = {"ja": r"[\u3040-\u30ff]", "zh": r"[\u4e00-\u9fff]", "ru": r"[\u0400-\u04ff]", "th": r"[\u0e00-\u0e7f]",
           "bn": r"[\u0980-\u09ff]", "te": r"[\u0c00-\u0c7f]"}
# The rule judge's reasons for `undecided`, in words.
WHY = {"no_final_answer": "no committed final answer (no \\boxed{}, answer phrase or concluding bold number)",
       "unreadable_answer": "the committed answer is not a number, fraction or choice the rules can read",
       "not_comparable": "math-verify could not compare the answer with the gold value",
       "no_gold_value": "no value could be read from the gold answer",
       "ambiguous_final_answer": "the conclusion names several values, or the last sentence contradicts it",
       "hedged": "the answer hedges between values ('either 12 or 14', a range)",
       "truncated": "the reasoning was opened and never closed (cut off)",
       "llm_unreadable": "the LLM judge's reply said neither accept nor reject",
       "llm_failed": "the LLM judge was not reached"}
MATH_SPAN = re.compile(r"\$\$.+?\$\$|\\\[.+?\\\]|\\\(.+?\\\)|\$[^$\n]+?\$", re.S)


@dataclass
class Source:
    kind: str                                  # judged | eval
    path: Path                                 # the judged file, or the eval run folder
    verdict_path: Path
    items: list[dict[str, Any]] = field(default_factory=list)   # full views, index = position
    docs: list[dict[str, Any]] = field(default_factory=list)    # eval: lm-eval's documents (eval_docs)


def language(record: dict[str, Any]) -> str:
    given = record.get("lang") or record.get("language")
    if given:
        return str(given)
    text = str(record.get("question", ""))
    return next((lang for lang, chars in SCRIPTS.items() if re.search(chars, text)), "latin")


def explain(reason: str) -> str:
    code = re.split(r"[:\s(]", reason, maxsplit=1)[0]
    return f"{reason}: {WHY[code]}" if code in WHY else reason


def utf16(text: str, index: int) -> int:
    """A Python string index as the UTF-16 offset a browser's string uses."""
    return len(text[:index].encode("utf-16-le")) // 2


def highlight(response: str, raw: str | None) -> list[int] | None:
    """[start, end) in UTF-16 units of the last `raw` in `response`, widened to a whole \\boxed{} and math span."""
    if not raw or not response:
        return None
    start = response.rfind(raw)
    if start < 0:
        return None
    end = start + len(raw)
    boxed = response.rfind("\\boxed{", 0, start)
    if boxed >= 0 and boxed + len("\\boxed{") == start and response[end:end + 1] == "}":
        start, end = boxed, end + 1
    for m in MATH_SPAN.finditer(response):
        if m.start() < end and start < m.end():
            start, end = min(start, m.start()), max(end, m.end())
    return [utf16(response, start), utf16(response, end)]


def split_reasoning(response: str) -> tuple[str, str]:
    if "</think>" not in response:
        return "", response
    reasoning, _, answer = response.partition("</think>")
    return reasoning.replace("<think>", "", 1).strip(), answer.strip()


# --- judged records -----------------------------------------------------------------------------------------

def judged_items(path: Path) -> list[dict[str, Any]]:
    from mathmind.judge.answers import final_answer, is_choice, strip_think

    items = []
    for line_no, r in iter_jsonl(path):
        if "id" not in r or "verdict" not in r:
            raise UserError(f"{path}:{line_no}: not a judged record (needs id and verdict): run `mathmind judge` on it "
                            f"first, or give an eval run folder")
        answer = str(r.get("answer") or "")
        final = final_answer(strip_think(answer), choices=is_choice(r.get("gold_value"))) if answer else None
        why = [explain(str(r.get("reason") or ""))] + [f"{k}: {v}" for k, v in r.items()
                                              if ("undecided" in k or k.startswith("why")) and v not in (None, "")]
        items.append({"id": str(r["id"]), "group": language(r), "undecided": r["verdict"] == "undecided",
                      "rejected": r["verdict"] == "reject", "question": str(r.get("question") or ""),
                      "gold": str(r.get("gold") if r.get("gold") is not None else ""), "gold_value": r.get("gold_value"),
                      "extracted": r.get("extracted"), "machine": f"{r['verdict']} ({r.get('judge', '?')}" + (f", {r['form']}" if r.get("form") else "") + ")",
                      "why": "; ".join(w for w in why if w), "response": answer, "reasoning": str(r.get("reasoning") or ""),
                      "highlight": highlight(answer, final.raw if final else r.get("extracted"))})
    return items


# --- lm-eval samples ---------------------------------------------------------------------------------------

def newest_sample_files(run: Path) -> dict[str, Path]:
    """task -> its newest samples_<task>_<time>.jsonl under RUN/lm_eval (a re-run writes new ones)."""
    found: dict[str, Path] = {}
    for path in sorted((run / "lm_eval").rglob("samples_*.jsonl"), key=lambda p: p.stat().st_mtime):
        found[path.stem[len("samples_"):].rpartition("_")[0]] = path
    return found


def eval_docs(run: Path) -> list[dict[str, Any]]:
    """One entry per document of each generation task: lm-eval's headline-filter answer and score, per filter extractions."""
    docs = []
    for task, path in sorted(newest_sample_files(run).items()):
        by_doc: dict[int, dict[str, Any]] = {}
        for line_no, s in iter_jsonl(path):
            response = (s.get("resps") or [[None]])[0][0]
            if not isinstance(response, str) or not isinstance(s.get("exact_match"), (int, float)):
                break                                   # not a generation task scored by exact match (mmlu)
            doc = by_doc.setdefault(s["doc_id"], {"task": task, "doc_id": s["doc_id"], "doc": s.get("doc") or {},
                                                  "target": s.get("target"), "response": response,
                                                  "doc_hash": s.get("doc_hash"), "filters": {}})
            extracted = s.get("filtered_resps") or [""]
            doc["filters"][s.get("filter", "none")] = (str(extracted[0] if isinstance(extracted, list) else extracted),
                                                       float(s["exact_match"]))
        for doc in by_doc.values():
            doc["headline"] = "flexible-extract" if "flexible-extract" in doc["filters"] else next(iter(doc["filters"]))
            doc["extracted"], doc["score"] = doc["filters"][doc["headline"]]
        docs += by_doc.values()
    return docs


def eval_items(docs: list[dict[str, Any]], progress: bool = True) -> list[dict[str, Any]]:
    from tqdm import tqdm

    from mathmind.judge.answers import final_answer, judge_by_rule, strip_think

    items = []
    for doc in tqdm(docs, desc="review: reading samples", unit="doc", disable=not progress, leave=False):
        reasoning, answer = split_reasoning(doc["response"])
        rule = judge_by_rule(doc["response"], doc["target"])
        lm_eval_says = "accept" if doc["score"] >= 1 else "reject"
        if doc["extracted"].strip() in INVALID:
            why = f"lm-eval's {doc['headline']} found no answer"
        elif rule.verdict == "undecided":
            why = f"mathmind's rule judge cannot decide: {WHY.get(rule.reason, rule.reason)}"
        elif rule.verdict != lm_eval_says:
            why = f"lm-eval scores {doc['score']:g}, mathmind's rule judge says {rule.verdict} ({rule.reason})"
        else:
            why = ""
        extracted = doc["extracted"].strip()
        final = final_answer(strip_think(answer)) if extracted in INVALID else None
        d = doc["doc"]
        items.append({"id": f"{doc['task']}#{doc['doc_id']}", "group": doc["task"], "undecided": bool(why),
                      "rejected": lm_eval_says == "reject", "doc_hash": doc["doc_hash"],
                      "question": str(d.get("question") or d.get("problem") or d.get("input") or json.dumps(d, ensure_ascii=False)),
                      "gold": str(doc["target"]), "gold_value": rule.gold_value, "extracted": extracted,
                      "machine": f"lm-eval {doc['headline']}: {doc['score']:g}; rule judge: {rule.verdict} ({rule.reason}"
                                 + (f", extracted {rule.extracted}" if rule.extracted is not None else "") + ")",
                      "why": why or "; ".join(f"{f}: {e!r}" for f, (e, _) in doc["filters"].items()),
                      "response": answer, "reasoning": reasoning,
                      "highlight": highlight(answer, extracted if extracted not in INVALID else (final.raw if final else None))})
    return items


def find_run(path: Path) -> Path | None:
    """The eval run folder that `path` is or lies in (it has summary.json), else None."""
    for candidate in (path, *path.parents) if path.is_dir() else path.parents:
        if (candidate / "summary.json").is_file():
            return candidate
    return None


def load_source(path: Path, progress: bool = True) -> Source:
    if not path.exists():
        raise UserError(f"{path}: no such file or folder")
    run = find_run(path) if path.is_dir() or path.name == "summary.json" or path.name.startswith("samples_") else None
    if run:
        docs = eval_docs(run)
        if not docs:
            raise UserError(f"{run}: no lm-eval samples of a generation task under {run / 'lm_eval'}")
        return Source("eval", run, run / "review.jsonl", eval_items(docs, progress), docs)
    if path.is_dir():
        raise UserError(f"{path}: a folder without summary.json; give a judged .jsonl or an eval run folder")
    return Source("judged", path, path.with_name(path.name.removesuffix(".jsonl") + ".review.jsonl"), judged_items(path))


# --- the verdict log ---------------------------------------------------------------------------------------

class VerdictLog:
    """Append-only verdicts; `events` in file order (their index is a sequence number tabs poll with)."""

    def __init__(self, path: Path):
        self.path = path
        self.lock = threading.Lock()
        repair_torn_tail(path)
        self.events = [e for _, e in iter_jsonl(path)] if path.exists() else []
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("a", encoding="utf-8")

    def add(self, item_id: str, verdict: str, **extra: Any) -> int:
        event = {"id": item_id, "verdict": verdict, "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **extra}
        with self.lock:
            self._file.write(json.dumps(event, ensure_ascii=False) + "\n")   # one write: whole line or none
            self._file.flush()
            os.fsync(self._file.fileno())
            self.events.append(event)
            return len(self.events)

    def since(self, seq: int) -> tuple[int, list[dict[str, Any]]]:
        with self.lock:
            return len(self.events), self.events[max(seq, 0):]

    def close(self) -> None:
        self._file.close()


def review_log_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, {id, verdict}) of each id's last verdict in a review log, a skip as an empty verdict: the rows
    `mathmind judge --review-in` reads, as from its CSV."""
    latest = {item_id: (event.get("_line", 0), event["verdict"]) for item_id, event in latest_verdicts(path, lines=True).items()}
    for item_id, (line_no, verdict) in latest.items():
        yield line_no, {"id": item_id, "verdict": "" if verdict == "skip" else verdict}


def latest_verdicts(path: Path, lines: bool = False) -> dict[str, dict[str, Any]]:
    """id -> its last verdict event (accept | reject | skip) in a review log."""
    latest: dict[str, dict[str, Any]] = {}
    for line_no, event in iter_jsonl(path):
        if event.get("verdict") not in VERDICTS or "id" not in event:
            raise UserError(f"{path}:{line_no}: a review line needs id and verdict ({', '.join(VERDICTS)})")
        latest[str(event["id"])] = {**event, "_line": line_no} if lines else event
    return latest


# --- the human-reviewed score ------------------------------------------------------------------------------

def human_reviewed_rows(run: Path, model: str, docs: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """summary.json rows with filter `human-reviewed`: lm-eval's headline score per document, replaced by the
    person's verdict where one was given (accept 1, reject 0; a verdict for a document that has since changed,
    by doc_hash, is ignored). One row per task with at least one such verdict."""
    from mathmind.eval.tasks import family

    log = run / "review.jsonl"
    if not log.is_file():
        return []
    verdicts = latest_verdicts(log)
    per_task: dict[str, list[dict[str, Any]]] = {}
    for doc in eval_docs(run) if docs is None else docs:
        per_task.setdefault(doc["task"], []).append(doc)
    rows = []
    for task, docs in per_task.items():
        scores, reviewed, changed = [], 0, 0
        for doc in docs:
            v = verdicts.get(f"{task}#{doc['doc_id']}")
            if v and v["verdict"] in ("accept", "reject") and v.get("doc_hash") in (None, doc["doc_hash"]):
                score = 1.0 if v["verdict"] == "accept" else 0.0
                reviewed += 1
                changed += score != doc["score"]
            else:
                score = doc["score"]
            scores.append(score)
        if not reviewed:
            continue
        n = len(scores)
        value = sum(scores) / n
        stderr = math.sqrt(sum((s - value) ** 2 for s in scores) / (n - 1) / n) if n > 1 else None
        rows.append({"model": model, "task": task, "family": family(task), "metric": "exact_match", "filter": HUMAN_FILTER,
                     "value": value, "stderr": stderr, "n": n, "reviewed": reviewed, "changed": changed,
                     "base_filter": docs[0]["headline"], "base_value": sum(d["score"] for d in docs) / n})
    return rows


def update_summary(run: Path, docs: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Replace summary.json's human-reviewed rows with ones computed from RUN/review.jsonl now."""
    summary_path = run / "summary.json"
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    rows = human_reviewed_rows(run, summary.get("model", run.name), docs)
    summary["rows"] = [r for r in summary.get("rows", []) if r.get("filter") != HUMAN_FILTER] + rows
    write_json_atomic(summary_path, summary)
    return rows
