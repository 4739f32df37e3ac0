"""Write benchmarks/data/judge_labelled.jsonl: teacher-style responses with known verdicts.

Each label is fixed by construction (the value a response commits to, compared with the gold by
hand-written arithmetic), never by the judge it is used to measure. The mix follows what R1-style
teachers produce: en/zh and the other MGSM languages, long reasoning full of distractor numbers,
<think> tags, self-corrections, checks after the answer, truncation, empty and refused answers,
unit conversions, fractions, percentages, thousands separators. A few hard cases the rules are not
expected to get right are kept in on purpose (answers in words, "not 16 but 18").

    python benchmarks/make_judge_set.py   # rewrites the file; seeded, so the same every time
"""

from __future__ import annotations

import json
import random
from pathlib import Path

OUT = Path(__file__).parent / "data" / "judge_labelled.jsonl"

# How each language commits to an answer (format with {v}).
COMMIT = {
    "en": ["The answer is {v}.", "So the final answer is $\\boxed{{{v}}}$.", "#### {v}", "Therefore, **{v}**",
           "Final answer: {v}"],
    "zh": ["答案是{v}。", "所以最终答案是 $\\boxed{{{v}}}$。", "答案：{v}", "因此，答案为{v}元。"],
    "ja": ["答えは{v}です。", "したがって、答えは $\\boxed{{{v}}}$ です。"],
    "de": ["Die Antwort lautet {v}.", "Die Antwort ist $\\boxed{{{v}}}$."],
    "fr": ["La réponse est {v}.", "La réponse finale est $\\boxed{{{v}}}$."],
    "es": ["La respuesta es {v}.", "La respuesta final es $\\boxed{{{v}}}$."],
    "ru": ["Ответ: {v}.", "Ответ: $\\boxed{{{v}}}$."],
    "sw": ["Jibu ni {v}.", "Jibu ni $\\boxed{{{v}}}$."],
    "th": ["คำตอบคือ {v}", "คำตอบคือ $\\boxed{{{v}}}$"],
    "bn": ["উত্তর হল {v}।", "উত্তর হল $\\boxed{{{v}}}$।"],
    "te": ["సమాధానం: {v}", "సమాధానం $\\boxed{{{v}}}$"],
}
STEP = {
    "en": "First, {a} times {b} is {ab}. Then we add {c} to get {abc}. Let me double-check: {a} x {b} = {ab}.",
    "zh": "首先，{a} 乘以 {b} 等于 {ab}。然后加上 {c}，得到 {abc}。再检查一遍：{a}×{b}={ab}。",
    "ja": "まず、{a}×{b}={ab}です。次に{c}を足すと{abc}になります。",
    "de": "Zuerst ist {a} mal {b} gleich {ab}. Dann addieren wir {c} und erhalten {abc}.",
    "fr": "D'abord, {a} fois {b} font {ab}. Ensuite on ajoute {c} pour obtenir {abc}.",
    "es": "Primero, {a} por {b} es {ab}. Luego sumamos {c} y obtenemos {abc}.",
    "ru": "Сначала {a} умножить на {b} будет {ab}. Затем прибавим {c} и получим {abc}.",
    "sw": "Kwanza, {a} mara {b} ni {ab}. Kisha tunaongeza {c} kupata {abc}.",
    "th": "ขั้นแรก {a} คูณ {b} ได้ {ab} จากนั้นบวก {c} ได้ {abc}",
    "bn": "প্রথমে, {a} গুণ {b} হল {ab}। তারপর {c} যোগ করলে {abc} হয়।",
    "te": "మొదట, {a} గుణించు {b} = {ab}. తర్వాత {c} కలిపితే {abc}.",
}


def thousands(n: int) -> str:
    return f"{n:,}"


def make(rng: random.Random, i: int) -> dict:
    lang = rng.choice(list(COMMIT)) if rng.random() < 0.5 else rng.choice(["en", "zh"])
    a, b, c = rng.randint(3, 60), rng.randint(2, 40), rng.randint(1, 900)
    gold = a * b + c
    correct = rng.random() < 0.6
    value = gold if correct else gold + rng.choice([-10, -2, -1, 1, 2, 5, 100, c])
    if value == gold:
        correct = True
    shown = str(value)
    style = rng.random()
    if value >= 1000 and style < 0.5:
        shown = thousands(value)                       # 1,234
    elif style < 0.6:
        shown = f"{value}.0"
    elif style < 0.7 and lang == "en":
        shown = f"\\${value}"
    steps = STEP[lang].format(a=a, b=b, c=c, ab=a * b, abc=a * b + c)
    reasoning_noise = " ".join(str(rng.randint(1, 999)) for _ in range(rng.randint(0, 4)))
    commit = rng.choice(COMMIT[lang]).format(v=shown)
    answer = f"{steps}\n\n{commit}"
    kind = "plain"
    twist = rng.random()
    if twist < 0.12:                                   # a wrong answer first, then a self-correction
        wrong = value + rng.choice([1, 3, 7])
        first = rng.choice(COMMIT[lang]).format(v=wrong)
        fix = {"en": "Wait, I made a mistake in the addition. Let me redo it.", "zh": "等等，我算错了，重新计算。"}.get(lang, "Wait, let me recheck.")
        answer = f"{steps}\n\n{first}\n\n{fix} {steps}\n\n{commit}"
        kind = "self_correction"
    elif twist < 0.24:                                 # a check after the answer, mentioning other numbers
        check = {"en": f"Check: {a * b} + {c} = {a * b + c}, and {value} / {b} is about {value // b}.",
                 "zh": f"验证：{a * b} + {c} = {a * b + c}，{value} ÷ {b} 约等于 {value // b}。"}.get(lang, f"({a * b} + {c}; {value // b})")
        answer = f"{answer}\n\n{check}"
        kind = "check_after"
    elif twist < 0.34:                                 # reasoning inlined as <think>
        answer = f"<think>\nHmm, {reasoning_noise} maybe {value + 4}? The answer is {value + 4}? No.\n</think>\n\n{answer}"
        kind = "think_inline"
    elif twist < 0.42:                                 # long reasoning with many distractor numbers
        answer = "\n\n".join([steps] * rng.randint(3, 8) + [f"Other numbers: {reasoning_noise}.", commit])
        kind = "long_distractors"
    record = {"id": f"j{i:04d}", "lang": lang, "kind": kind, "gold": f"Working... #### {thousands(gold) if gold >= 1000 and rng.random() < 0.5 else gold}",
              "answer": answer, "finish_reason": "stop", "label": "accept" if correct else "reject"}
    return record


def specials(rng: random.Random) -> list[dict]:
    rows = []

    def add(kind: str, gold: object, answer: str, label: str, finish: str = "stop", lang: str = "en") -> None:
        rows.append({"id": f"s{len(rows):04d}", "lang": lang, "kind": kind, "gold": gold, "answer": answer,
                     "finish_reason": finish, "label": label})

    for n in range(6):
        add("truncated", f"#### {10 + n}", f"Let me think. {10 + n} apples... then we subtract", "reject", "length")
        add("empty", f"#### {20 + n}", "", "reject")
    add("refused", "#### 5", "I'm sorry, but I can't help with that.", "reject")
    add("refused", "#### 9", "抱歉，这个问题我无法回答。", "reject", lang="zh")
    for n, (gold, shown, label) in enumerate([("0.75", "\\frac{3}{4}", "accept"), ("0.75", "3/4", "accept"),
                                              ("\\frac{1}{2}", "0.5", "accept"), ("\\frac{2}{3}", "0.67", "reject"),
                                              ("\\frac{5}{4}", "\\dfrac{5}{4}", "accept"), ("1.5", "\\frac{3}{2}", "accept"),
                                              ("0.2", "\\frac{1}{4}", "reject")]):
        add("fraction", f"The solution... so the result is $\\boxed{{{gold}}}$", f"Compute: ... The answer is $\\boxed{{{shown}}}$.", label)
    for n in range(8):
        minutes = 30 * (n + 2)
        add("unit_conversion", f"#### {minutes}", f"It takes {minutes / 60:g} hours in total.\n\nThe answer is {minutes / 60:g} hours.", "reject")
        add("unit_conversion", f"#### {minutes}", f"{minutes / 60:g} hours is {minutes} minutes.\n\nThe answer is {minutes} minutes.", "accept")
    for n in range(6):
        v = 1000 * (n + 1) + 234
        add("thousands", f"#### {v:,}", f"The total is {v:,} dollars. The answer is ${v:,}.", "accept")
        add("thousands_cjk", f"#### {v}", f"总共是{v:,}元。答案是{v:,}元。", "accept", lang="zh")
        add("thousands_ja", v, f"合計は{v}円です。答えは{v}です。", "accept", lang="ja")
        add("decimal_comma", f"{n + 1}.5", f"Die Antwort lautet {n + 1},5 Liter.", "accept", lang="de")
    for n in range(6):
        add("percent", f"#### {10 * (n + 1)}", f"The discount is {10 * (n + 1)}%. The answer is {10 * (n + 1)}%.", "accept")
    for letter, said, label in [("B", "答案是:B", "accept"), ("C", "答案是：A", "reject"), ("A", "The answer is (A).", "accept"),
                                ("D", "So the answer is \\boxed{D}.", "accept"), ("B", "答案是 C", "reject"),
                                ("E", "The answer is E", "accept")]:
        add("choice", letter, f"Let me compare the options A, B, C and D carefully.\n\n{said}", label)
    for n in range(4):                                 # no committed answer: the rules should hand these on
        add("no_marker", f"#### {40 + n}", f"Janet ends up with {40 + n} eggs to sell each day.", "accept")
    add("words", "#### 18", "So the answer is eighteen dollars.", "accept")       # hard: number in words
    add("not_x_but_y", "#### 18", "The answer is not 16 but 18.", "accept")       # hard: negation
    add("bold_only", "#### 30", "Step 1: **5** boxes. Step 2: 5 x 6 = **30**", "accept")
    add("expression", "x^2 + 1", "Hence $f(x) = \\boxed{1 + x^2}$.", "accept")
    add("set", "\\{1, 2\\}", "The solutions are $\\boxed{\\{2, 1\\}}$.", "accept")
    return rows


def main() -> None:
    rng = random.Random(7)
    rows = [make(rng, i) for i in range(300)] + specials(rng)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"{len(rows)} labelled responses -> {OUT}")


if __name__ == "__main__":
    main()
