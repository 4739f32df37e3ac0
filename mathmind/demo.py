"""The embedded offline default: every stage that exists so far, for real, on this machine's CPU.

1. a seeded generator writes GSM8K-style word problems (English and Chinese) with exact answers,
   split into train and held-out test (questions/train.jsonl, questions/test.jsonl);
2. a stand-in teacher (an OpenAI-compatible server on 127.0.0.1, not a model) answers them in
   DeepSeek-R1's shape, a share of them deliberately wrong;
3. `mathmind distill` asks it through the openai SDK, exactly as it would ask DeepSeek-R1.

Later stages (judge, convert, train, eval, report) join as they are built.
"""

from __future__ import annotations

import argparse
import json
import os
import random
from pathlib import Path

from mathmind.jsonl import write_text_atomic

# (English, Chinese, answer) templates over two small numbers a and b.
TEMPLATES = [
    ("Tom has {a} apples and buys {b} more. How many apples does he have now?",
     "小明有 {a} 个苹果,又买了 {b} 个。他现在一共有多少个苹果?", lambda a, b: a + b),
    ("A box holds {a} pencils. How many pencils are in {b} boxes?",
     "一个盒子装 {a} 支铅笔。{b} 个盒子一共装多少支铅笔?", lambda a, b: a * b),
    ("Sara had {c} stickers and gave away {b}. How many stickers does she have left?",
     "小红有 {c} 张贴纸,送出了 {b} 张。她还剩多少张贴纸?", lambda c, b: c - b),
    ("A farmer has {a} rows of trees with {b} trees in each row, and plants 5 more trees. How many trees are there?",
     "农民种了 {a} 排树,每排 {b} 棵,又种了 5 棵。一共有多少棵树?", lambda a, b: a * b + 5),
]


def make_problems(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    problems = []
    for i in range(n):
        english, chinese, solve = TEMPLATES[i % len(TEMPLATES)]
        a, b = rng.randint(2, 20), rng.randint(2, 12)
        c = a + b + rng.randint(1, 30)
        first = c if "{c}" in english else a
        text = (chinese if rng.random() < 0.3 else english).format(a=a, b=b, c=c)
        answer = solve(first, b)
        problems.append({"question": text, "answer": f"#### {answer}", "answer_number": answer})
    return problems


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("demo-out"), help="folder for every artefact (default demo-out)")
    parser.add_argument("--train", type=int, default=200, help="training questions to distil (default 200)")
    parser.add_argument("--test", type=int, default=50, help="held-out questions (default 50)")
    parser.add_argument("--wrong-share", type=float, default=0.15, help="share of teacher answers made wrong on purpose")


def run(args: argparse.Namespace) -> int:
    from mathmind.cli import main as mathmind_main
    from mathmind.distill.standin_teacher import StandInTeacher, TeacherConfig

    out: Path = args.out
    problems = make_problems(args.train + args.test)
    train, test = problems[:args.train], problems[args.train:]
    for name, rows in (("train", train), ("test", test)):
        write_text_atomic(out / "questions" / f"{name}.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    answers = {p["question"]: str(p["answer_number"]) for p in problems}
    os.environ["MATHMIND_DEMO_KEY"] = "demo-key-not-a-secret"
    config = TeacherConfig(latency_s=0.05, api_key=os.environ["MATHMIND_DEMO_KEY"], answers=answers,
                           wrong_share=args.wrong_share)
    with StandInTeacher(config) as teacher:
        print(f"demo: stand-in teacher (not a model) on {teacher.url}", flush=True)
        code = mathmind_main(["distill", "--questions", str(out / "questions" / "train.jsonl"),
                              "--out", str(out / "distill.jsonl"), "--base-url", teacher.url, "--model", "standin-r1",
                              "--api-key-env", "MATHMIND_DEMO_KEY", "--concurrency", "16"])
    if code:
        return code
    print("\nartefacts:")
    print(f"  questions   {out / 'questions' / 'train.jsonl'}, {out / 'questions' / 'test.jsonl'}")
    print(f"  distilled   {out / 'distill.jsonl'}  (fields: id, question, gold, prompt, reasoning, answer, ...)")
    return 0
