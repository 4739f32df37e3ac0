"""Find training questions that leak test questions (seed 004's method, plus open-r1/s1's n-gram check).

For each test question: its 10 nearest training questions by TF-IDF cosine, flagged when the
1-gram Jaccard similarity of their token sets (lower-cased, punctuation and English stop words
removed; each CJK character a token) is above 0.5. Separately, any training question sharing an
exact 8-gram of tokens with a test question is flagged.

Writes the flagged pairs as jsonl (train file/line, test file/line, cosine, jaccard, reason, both
questions); with --drop also the training file without the flagged lines (written atomically).

  mathmind decontam --train runs/judged.jsonl --test gsm8k_test.jsonl mgsm_zh.jsonl --drop
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from mathmind.errors import UserError
from mathmind.jsonl import iter_jsonl, write_text_atomic

TOKEN = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]|[^\W_]+", re.UNICODE)
NEIGHBOURS = 10
JACCARD_THRESHOLD = 0.5
NGRAM = 8


@dataclass
class Item:
    file: str
    line: int
    text: str


def tokens(text: str, stop_words: frozenset[str]) -> list[str]:
    return [t for t in TOKEN.findall(text.lower()) if t not in stop_words]


def read_items(path: Path, field: str) -> list[Item]:
    items = []
    for line_no, record in iter_jsonl(path):
        value = record.get(field)
        if not isinstance(value, str) or not value.strip():
            raise UserError(f"{path}:{line_no}: field {field!r} is missing or empty (use --field to pick another)")
        items.append(Item(str(path), line_no, value))
    if not items:
        raise UserError(f"{path}: no records")
    return items


def find_pairs(train: list[Item], test: list[Item], chunk: int = 256) -> list[dict]:
    import numpy as np
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

    stop = frozenset(ENGLISH_STOP_WORDS)
    train_tokens = [tokens(i.text, stop) for i in train]
    test_tokens = [tokens(i.text, stop) for i in test]
    train_sets = [set(t) for t in train_tokens]
    test_sets = [set(t) for t in test_tokens]

    def jaccard(ti: int, si: int) -> float:
        a, b = train_sets[ti], test_sets[si]
        return len(a & b) / len(a | b) if a | b else 0.0

    vectorizer = TfidfVectorizer(analyzer=lambda toks: toks)  # tokens are already clean
    train_matrix = vectorizer.fit_transform(train_tokens + test_tokens)[: len(train)]
    test_matrix = vectorizer.transform(test_tokens)
    flagged: dict[tuple[int, int], dict] = {}

    def flag(ti: int, si: int, reason: str, cosine: float | None) -> None:
        pair = flagged.setdefault((ti, si), {
            "train_file": train[ti].file, "train_line": train[ti].line, "test_file": test[si].file,
            "test_line": test[si].line, "cosine": None, "jaccard": round(jaccard(ti, si), 4), "reasons": [],
            "train_question": train[ti].text, "test_question": test[si].text})
        pair["reasons"].append(reason)
        if cosine is not None:
            pair["cosine"] = round(cosine, 4)

    k = min(NEIGHBOURS, len(train))
    for start in range(0, len(test), chunk):
        scores = (test_matrix[start:start + chunk] @ train_matrix.T).toarray()
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        for row, neighbours in enumerate(top):
            si = start + row
            for ti in map(int, neighbours):
                if jaccard(ti, si) > JACCARD_THRESHOLD:
                    flag(ti, si, "jaccard", float(scores[row, ti]))

    grams: dict[tuple[str, ...], int] = {}
    for si, toks in enumerate(test_tokens):
        for i in range(len(toks) - NGRAM + 1):
            grams.setdefault(tuple(toks[i:i + NGRAM]), si)
    for ti, toks in enumerate(train_tokens):
        for i in range(len(toks) - NGRAM + 1):
            si = grams.get(tuple(toks[i:i + NGRAM]))
            if si is not None:
                flag(ti, si, f"{NGRAM}gram", None)
                break
    return sorted(flagged.values(), key=lambda p: (p["train_line"], p["test_file"], p["test_line"]))


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--train", required=True, type=Path, metavar="FILE.jsonl", help="training data to check")
    parser.add_argument("--test", required=True, type=Path, nargs="+", metavar="FILE.jsonl", help="benchmark question files")
    parser.add_argument("--field", default="question", help="field holding the question text in every file (default question)")
    parser.add_argument("--out", type=Path, default=None, help="flagged pairs (default: TRAIN.contam.jsonl)")
    parser.add_argument("--drop", action="store_true", help="also write TRAIN.decontam.jsonl without the flagged lines")


def run(args: argparse.Namespace) -> int:
    train = read_items(args.train, args.field)
    test = [item for path in args.test for item in read_items(path, args.field)]
    pairs = find_pairs(train, test)
    stem = args.train.name.removesuffix(".jsonl")
    out = args.out or args.train.with_name(f"{stem}.contam.jsonl")
    write_text_atomic(out, "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in pairs))
    bad_lines = {p["train_line"] for p in pairs}
    print(f"decontam: {len(train)} training x {len(test)} test questions; {len(pairs)} pairs flagged, "
          f"{len(bad_lines)} training lines; pairs: {out}", file=sys.stderr)
    if args.drop:
        kept_path = args.train.with_name(f"{stem}.decontam.jsonl")
        lines = args.train.read_text(encoding="utf-8").splitlines(keepends=True)
        kept = [line for no, line in enumerate(lines, start=1) if no not in bad_lines and line.strip()]
        write_text_atomic(kept_path, "".join(kept))
        print(f"decontam: kept {len(kept)} training lines in {kept_path}", file=sys.stderr)
    return 0
