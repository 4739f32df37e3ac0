"""Rules for judging an answer: find the response's final committed answer, read the gold answer, compare.

Finding the answer is mathmind's (math-verify picks the first or any match; a judge needs the last
committed one). Equivalence is math-verify's (`18` = `18.0` = `$18`, `\\frac{3}{4}` = `0.75` = `3/4`,
percent, sets, expressions). Before math-verify sees a value, mathmind cuts it out of its sentence,
which works around two of its limits: numbers touching CJK characters (`答案是42元`) are not found,
and `1,2` is read as 1.2 (mathmind reads `1,234` as thousands and `1,5` as a decimal comma).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from math_verify import parse, verify

# Phrases after which a response commits to its answer, in English, Chinese and the MGSM languages.
ANSWER_PHRASES = [
    r"(?:the\s+)?(?:final\s+)?answer\s*(?:is|:|=|would\s+be|will\s+be)",
    r"最终答案\s*(?:是|为|應為|应为)?", r"答案\s*(?:是|为|應為|应为|：|:)",
    r"答えは", r"答え\s*[:：]",
    r"(?:die\s+)?(?:endg[üu]ltige\s+)?antwort\s*(?:lautet|ist|:)",
    r"(?:la\s+)?r[ée]ponse\s*(?:finale\s*)?(?:est|:)",
    r"(?:la\s+)?respuesta\s*(?:final\s*)?(?:es|:)",
    r"(?:окончательный\s+)?ответ\s*(?:[:—–-]|равен|будет)",
    r"jibu\s*(?:ni|:)",
    r"คำตอบ\s*(?:คือ|:)",
    r"উত্তর\s*(?:হল|হলো|হবে|:)",
    r"సమాధానం\s*(?::|is)?",
    r"####",
]
PHRASE = re.compile("|".join(f"(?:{p})" for p in ANSWER_PHRASES), re.I)
BOXED = re.compile(r"\\(?:boxed|fbox)\s*\{")
CONCLUSION = re.compile(r"\b(?:therefore|thus|hence|so|in total|altogether|donc|also|por lo tanto|поэтому|kwa hiyo)\b"
                        r"|所以|因此|总之|综上|したがって|よって|ดังนั้น|অতএব|కాబట్టి", re.I)
BOLD = re.compile(r"\*\*([^*\n]{1,60})\*\*")
THINK_END = re.compile(r"^.*</think>", re.S)
# A number: thousands groups (1,234 / 1，234 / 1 234), decimals with . or a decimal comma, sign.
NUMBER = re.compile(r"[-−]?(?:\d{1,3}(?:[,，]\d{3})+|\d{1,3}(?:[  ]\d{3})+(?![\d.,])|\d+)(?:[.,]\d+)?")
FRACTION = re.compile(r"\\d?frac\s*\{([^{}]+)\}\s*\{([^{}]+)\}|(?<![\d.])(\d+)\s*/\s*(\d+)(?![\d.])")
CHOICE = re.compile(r"(?<![A-Za-z])\(?([A-J])\)?(?![A-Za-z])")
# A value that is a number with at most a unit or currency around it (not an expression or a set).
SIMPLE_NUMBER = re.compile(r"\s*[$￥¥€£]?\s*[-−]?[\d.,，  ]+\s*(?:\\?%)?\s*[^\W\d_]*(?:\s+[^\W\d_]+)*\s*[.。]?\s*")
SEGMENT_CHARS = 120  # how far after an answer phrase its value may start


@dataclass(frozen=True)
class Final:
    """The response's final committed answer: the raw text found and its value as math-verify reads it."""
    raw: str
    value: str | None      # None: something was committed but it is not a number, fraction or choice
    marker: str            # boxed | phrase | bold


def strip_think(text: str) -> str:
    """The answer part of a response that inlines its reasoning as <think>...</think>."""
    return THINK_END.sub("", text, count=1) if "</think>" in text else text


def boxed_spans(text: str) -> list[tuple[int, str]]:
    """(position, content) of every \\boxed{...}, braces balanced."""
    spans = []
    for m in BOXED.finditer(text):
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        if depth == 0:
            spans.append((m.start(), text[m.end():i - 1]))
    return spans


def number_value(text: str) -> str | None:
    """The first number or fraction in `text` as a plain string math-verify reads right, else None."""
    text = text.replace("−", "-").replace("\\!", "").replace("{,}", ",")
    frac = FRACTION.search(text)
    num = NUMBER.search(text)
    if frac and (not num or frac.start() <= num.start()):
        top, bottom = (frac.group(1), frac.group(2)) if frac.group(1) is not None else (frac.group(3), frac.group(4))
        top_v, bottom_v = number_value(top), number_value(bottom)
        return f"{top_v}/{bottom_v}" if top_v and bottom_v else None
    if not num:
        return None
    s = num.group(0)
    if re.fullmatch(r"-?\d{1,3}(?:[,，  ]\d{3})+(?:[.,]\d+)?", s):
        head, _, tail = s.rpartition(".") if "." in s else (s, "", "")
        s = re.sub(r"[,，  ]", "", head) + (f".{tail}" if tail else "")
    elif re.fullmatch(r"-?\d+,\d+", s):           # 1,5: a decimal comma (de, fr, es, ru)
        s = s.replace(",", ".")
    if text[num.end():num.end() + 2].lstrip().startswith(("%", "\\%")):
        s += "\\%"
    return s


def value_of(raw: str, choices: bool) -> str | None:
    """A committed answer's value: a choice letter when the gold is one, else a number, else the latex."""
    raw = raw.strip()
    if choices:
        m = CHOICE.search(re.sub(r"\\boxed\{|\\text\{|[*$:：]", " ", raw)[:40])
        return m.group(1) if m else None
    plain = re.sub(r"\\(?:text|mathrm|textbf)\{([^{}]*)\}", r" \1 ", raw).replace("\\$", "").replace("\\,", "")
    if SIMPLE_NUMBER.fullmatch(plain) or FRACTION.fullmatch(plain.strip().strip("$")):
        return number_value(plain)
    if len(raw) < 80 and re.search(r"[a-zA-Z\\{]", raw):     # an expression, a set, an interval
        return raw
    return number_value(plain)


def final_answer(response: str, choices: bool = False) -> Final | None:
    """The last committed answer in the response (a later self-correction wins; checks after it do not).

    Committed means inside \\boxed{}, right after an answer phrase ("The answer is", "答案是", "####",
    "答えは", ...), or a bold number in the last paragraph. None when nothing commits.
    """
    text = strip_think(response)
    found: list[tuple[int, Final]] = []
    boxed = boxed_spans(text)
    boxed_starts = {pos for pos, _ in boxed}
    for pos, content in boxed:
        found.append((pos, Final(content, value_of(content, choices), "boxed")))
    for m in PHRASE.finditer(text):
        segment = text[m.end():m.end() + SEGMENT_CHARS]
        lead = re.match(r"[\s:：*$(（\\\[]*", segment)
        # "The answer is $\boxed{18}$": the boxed candidate already stands for this phrase.
        if any(m.end() <= p <= m.end() + (lead.end() if lead else 0) + 1 for p in boxed_starts):
            continue
        segment = re.split(r"\n\s*\n|(?<=[.。!?！？])\s+(?=[A-Z\u4e00-\u9fff])", segment, maxsplit=1)[0]
        value = value_of(segment, choices) if choices else number_value(segment)
        if value is not None:
            found.append((m.start(), Final(segment.strip(), value, "phrase")))
    # A bold number commits in the last paragraph or in a concluding one ("Therefore, **18**"), not as
    # an intermediate result.
    last_paragraph = text.rstrip().rfind("\n\n")
    for m in BOLD.finditer(text):
        paragraph_start = text.rfind("\n\n", 0, m.start())
        concluding = m.start() > last_paragraph or CONCLUSION.search(text, paragraph_start + 1, m.start())
        if concluding and (choices or NUMBER.search(m.group(1))):
            value = value_of(m.group(1), choices)
            if value is not None:
                found.append((m.start(), Final(m.group(1), value, "bold")))
    return max(found, key=lambda pair: pair[0])[1] if found else None


def gold_value(gold: object) -> str | None:
    """The gold answer's value: GSM8K `#### N`, a MATH `\\boxed{}` solution, a bare number, a choice letter."""
    if gold is None or isinstance(gold, bool):
        return None
    if isinstance(gold, (int, float)):
        return f"{gold:g}" if isinstance(gold, float) else str(gold)
    text = str(gold).strip()
    if re.fullmatch(r"\(?[A-J]\)?", text):
        return text.strip("()")
    if "####" in text:
        return number_value(text.rsplit("####", 1)[1])
    boxed = boxed_spans(text)
    if boxed:
        return value_of(boxed[-1][1], False)
    return value_of(text, False) if len(text) < 80 else None


def is_choice(value: str | None) -> bool:
    return value is not None and re.fullmatch(r"[A-J]", value) is not None


def equivalent(gold: str, predicted: str) -> bool | None:
    """math-verify's equivalence of two cut-out values; None when it cannot parse one of them."""
    if is_choice(gold):
        return gold == predicted
    # math-verify's timeouts use signal.alarm, which only works in the main thread.
    timeout = 5 if threading.current_thread() is threading.main_thread() else None
    g = parse(f"${gold}$", parsing_timeout=timeout)
    p = parse(f"${predicted}$", parsing_timeout=timeout)
    if not g or not p:
        return None
    return verify(g, p, timeout_seconds=timeout)


@dataclass(frozen=True)
class RuleVerdict:
    verdict: str            # accept | reject | undecided
    reason: str
    extracted: str | None
    gold_value: str | None


def judge_by_rule(answer: str | None, gold: object, finish_reason: str | None = None) -> RuleVerdict:
    """Decide where the rules are sure; `undecided` (for an LLM or a person) where they are not."""
    gold_v = gold_value(gold)
    text = strip_think(answer or "").strip()
    if not text:
        return RuleVerdict("reject", "empty_answer", None, gold_v)
    if finish_reason == "length":
        return RuleVerdict("reject", "truncated", None, gold_v)
    if gold_v is None:
        return RuleVerdict("undecided", "no_gold_value", None, None)
    final = final_answer(text, choices=is_choice(gold_v))
    if final is None:
        return RuleVerdict("undecided", "no_final_answer", None, gold_v)
    if final.value is None:
        return RuleVerdict("undecided", "unreadable_answer", final.raw[:80], gold_v)
    same = equivalent(gold_v, final.value)
    if same is None:
        return RuleVerdict("undecided", "not_comparable", final.value, gold_v)
    return RuleVerdict("accept" if same else "reject", "equal" if same else "different", final.value, gold_v)
