"""A seeded generator of GSM8K-style word problems (English and Chinese) with exact answers.

Small on purpose: one-digit addition and subtraction in varied wording, so that a tiny model can
learn it in minutes on a CPU; the demo measures that on held-out problems (new wording and names;
the one-digit facts themselves are shared with training, which the README says). Each problem has a
GSM8K-style `answer` ("3 + 4 = 7\\n#### 7"), `answer_number`, and `work` (the worked step).
"""

from __future__ import annotations

import random

NAMES_EN = ["Tom", "Sara", "Ana", "Omar", "Mia", "Ben", "Lily", "Raj", "Zoe", "Ivan", "Kate", "Leo"]
ITEMS_EN = ["apples", "pencils", "stickers", "books", "coins", "cards", "marbles", "shells"]
NAMES_ZH = ["小明", "小红", "小刚", "小丽", "小华", "小军", "小芳", "小强"]
ITEMS_ZH = [("个", "苹果"), ("支", "铅笔"), ("张", "贴纸"), ("本", "书"), ("枚", "硬币"), ("颗", "弹珠")]

# (English template, Chinese template, operation sign)
TEMPLATES = [
    ("{name} has {a} {item} and gets {b} more. How many {item} does {name} have now?",
     "{name}有{a}{unit}{item}，又得到了{b}{unit}。{name}现在一共有多少{unit}{item}？", "+"),
    ("{name} had {a} {item} and gave away {b}. How many {item} are left?",
     "{name}有{a}{unit}{item}，送出了{b}{unit}。还剩多少{unit}{item}？", "-"),
    ("There are {a} {item} in a box and {name} puts in {b} more. How many {item} are in the box?",
     "盒子里有{a}{unit}{item}，{name}又放进去{b}{unit}。盒子里现在有多少{unit}{item}？", "+"),
    ("{name} found {a} {item} and lost {b} of them. How many {item} does {name} still have?",
     "{name}找到了{a}{unit}{item}，丢了{b}{unit}。{name}还有多少{unit}{item}？", "-"),
]


def make_problems(n: int, seed: int = 0, chinese_share: float = 0.3) -> list[dict]:
    """`n` distinct problems, deterministic for a seed."""
    rng = random.Random(seed)
    problems, seen = [], set()
    while len(problems) < n:
        english, chinese, sign = rng.choice(TEMPLATES)
        a, b = rng.randint(1, 9), rng.randint(1, 9)
        if sign == "-" and b > a:
            a, b = b, a
        if rng.random() < chinese_share:
            unit, item = rng.choice(ITEMS_ZH)
            text = chinese.format(name=rng.choice(NAMES_ZH), a=a, b=b, unit=unit, item=item)
        else:
            text = english.format(name=rng.choice(NAMES_EN), a=a, b=b, item=rng.choice(ITEMS_EN))
        if text in seen:
            continue
        seen.add(text)
        value = a + b if sign == "+" else a - b
        work = f"{a} {sign} {b} = {value}"
        problems.append({"question": text, "answer": f"{work}\n#### {value}", "answer_number": value, "work": work})
    return problems
