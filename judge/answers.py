"""Rules for judging an answer: find the response's final committed answer, read the gold answer, compare.

Finding the answer is mathmind's (math-verify picks the first or any match; a judge needs the last
committed one). Equivalence is math-verify's (`18` = `18.0` = `$18`, `\\frac{3}{4}` = `0.75` = `3/4`,
percent, sets, expressions); two plain numbers are compared exactly without it (the common case, and
the cost of a 100k-record run). Before math-verify sees a value, mathmind cuts it out of its sentence,
which works around two of its limits: numbers touching CJK characters (`答案是42元`) are not found,
and `1,2` is read as 1.2 (mathmind reads `1,234` as thousands and `1,5` as a decimal comma).

A response commits to its answer in one of these forms (the `form` of a verdict):
  boxed         \\boxed{18}
  phrase        "The answer is 18", "答案是18", "答：172", "####", "Jibu ni 18", ... in 11 languages
  bold          a bold number in a concluding paragraph: "Therefore, **18**"
  conclusion    the last result sentence, led by a conclusion word: "So the final amount is $1920.",
                "The total is $2,125.", "综上所述，最终结果为 57500。", "这样得到 175。"
  closing_line  a last line that is only the number: "180.0", "$18"
  computation   a last sentence ending in one computed result: "She makes 9 * 2 = $18 every day."
  statement     a last sentence stating one number, no arithmetic: "Janet makes $18 every day."
Numbers in words ("The answer is twelve", "答案是十二") are read in these forms too (judge/numwords.py).
The last explicit commitment (boxed, phrase, bold) wins; a conclusion or closing line after it wins only
after a self-correction ("Wait, I made a mistake"); checks, remarks and unit conversions after the
answer never replace it. Nothing committed, or a hedge ("either 12 or 14"), is a reject; a conclusion
naming several values, or contradicted by the last sentence, is undecided.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from math_verify import parse, verify

from mathmind.judge.numwords import last_words_value, words_value

# Phrases after which a response commits to its answer, in English, Chinese and the MGSM languages.
ANSWER_PHRASES = [
    r"(?:the\s+)?(?:final\s+|correct\s+)?answer\s*(?:is|:|=|(?:would|will|should|could|might|may|must)\s+be)",
    r"最终答案\s*(?:是|为|應為|应为|：|:)?", r"答案\s*(?:是|为|為|應為|应为|：|:)", r"(?<![回解])答\s*[:：]",
    r"答えは", r"答え\s*[:：]", r"最終的な答え\s*(?:は|[:：])",
    r"(?:die\s+)?(?:endg[üu]ltige\s+)?antwort\s*(?:lautet|ist|:)",
    r"(?:la\s+)?r[ée]ponse\s*(?:finale\s*)?(?:est|:)",
    r"(?:la\s+)?respuesta\s*(?:final\s*|correcta\s*)?(?:es|:)",
    r"(?:окончательный\s+|итоговый\s+)?ответ\s*(?:[:—–-]|равен|будет|составляет)",
    r"jibu\s*(?:la\s+mwisho\s*)?(?:ni|:)",
    r"คำตอบ(?:สุดท้าย)?\s*(?:คือ|:|ได้แก่)",
    r"(?:চূড়ান্ত\s*)?উত্তর\s*(?:হল|হলো|হবে|:)",
    r"(?:తుది\s*|చివరి\s*)?సమాధానం\s*(?:[:=]|is\b|(?=\s*[$\d]))",
    r"####",
]
# The lookahead (each phrase's possible first letters) lets the scan skip most positions of long texts.
PHRASE = re.compile("(?=[tfcadelrjоиОИ最答#คচউతచస])(?:" + "|".join(f"(?:{p})" for p in ANSWER_PHRASES) + ")", re.I)
BOXED = re.compile(r"\\(?:boxed|fbox)\s*\{")
# Words that lead a concluding sentence ("So ...", "The total is ...", "所以...", "综上所述...").
CONCLUSION = re.compile(
    r"\b(?:therefore|thus|hence|so|in\s+total|in\s+all|altogether|overall|finally|in\s+the\s+end|as\s+a\s+result|"
    r"total|final|ends?\s+up|left|remaining|result|ergebnis|r[ée]sultat|resultado|результат|matokeo|donc|ainsi|au\s+total|en\s+tout|finalement|par\s+cons[ée]quent|"
    r"also(?=\s*,|\s+(?:ist|sind|hat|haben|beträgt|betragen|bekommt|kostet|kosten|zahlt|braucht|verdient|bleib\w*|gibt))|daher|somit|insgesamt|folglich|zusammen|gesamt\w*|endg[üu]ltig\w*|"
    r"por\s+lo\s+tanto|as[ií]\s+que|entonces|en\s+total|por\s+consiguiente|finalmente|"
    r"поэтому|итак|таким\s+образом|всего|итого|значит|в\s+итоге|следовательно|"
    r"kwa\s+hiyo|hivyo|jumla|hatimaye|basi)\b"
    r"|所以|因此|因而|综上|剩下|还剩|總之|总之|总共|總共|一共|总计|合计|最终|最後|最后|结果|這樣|这样|得到|故|"
    r"したがって|よって|だから|合計|全部で|最終的|以上より|"
    r"ดังนั้น|ผลลัพธ์|ফলাফল|ఫలితం|รวม|ทั้งหมด|สรุป|จึง|অতএব|সুতরাং|তাই|মোট|সর্বমোট|ফলে|কাজেই|కాబట్టి|అందువల్ల|మొత్తం|చివరికి", re.I)
# A check, remark or conversion after the answer ("Let me verify: ...", "That is 120 minutes.").
CHECK = re.compile(
    r"^\W*(?:let\s+me\s+(?:verify|check|double)|let's\s+(?:verify|check)|check|verify|verification|double[- ]check|"
    r"note|that\s+is|that's|this\s+is|which\s+is|i\.e\.|in\s+(?:minutes|hours|seconds|days|weeks|cents|percent)\b|as\s+a\s+(?:decimal|fraction|percent)|equivalently|"
    r"or\b|probe|prüf|überprüf|das\s+(?:sind|entspricht|ist)|v[ée]rif|c'est|soit|verific|comprob|es\s+decir|o\s+sea|"
    r"провер|то\s+есть|это\s|kuhakiki|hakiki|yaani|ตรวจสอบ|หรือ|যাচাই|পরীক্ষা|অর্থাৎ|తనిఖీ|ధృవీకరణ|అంటే|"
    r"验证|检验|檢驗|检查|验算|即|也就是|换算|相当于|注|这是|確認|検算|つまり|これは)", re.I)
# "is 18", "ist 18", "是18": in a conclusion naming several numbers, the one after the last of these is the result.
COPULA = re.compile(r"\b(?:is|are|was|equals|ist|beträgt|est|es|son|ni|равн\w*|составляет)\s+(?=[$￥¥€£]?\s*[-−\d])"
                    r"|(?:是|为|為|は)\s*(?=[$￥¥€£]?\s*[-−\d])", re.I)
# A conversion inside a concluding sentence: "3 小时，即180分钟", "3 hours, that is 180 minutes".
CONVERTED = re.compile(r"(?:[，,;；(（]|\s)\s*(?:即|也就是|相当于|换算|that\s+is|which\s+is|i\.e\.|das\s+sind|soit|c'est-à-dire|"
                       r"es\s+decir|o\s+sea|то\s+есть|yaani|คิดเป็น|অর্থাৎ|అంటే|つまり)", re.I)
# A comparison after a conclusion is a remark: "That's 3 more than last week."
COMPARISON = re.compile(r"\b(?:more|less|fewer|than|mehr|weniger|als|plus|moins|que|más|menos|больше|меньше|чем|zaidi|"
                        r"kuliko|pungufu)\b|比|より|มากกว่า|น้อยกว่า|বেশি|কম|ఎక్కువ|తక్కువ", re.I)
# A self-correction: what comes after it replaces what came before.
CORRECTION = re.compile(
    r"\b(?:wait|actually|oops|mistake|wrong|incorrect|correction|let\s+me\s+re(?:do|calculate|check|consider)|"
    r"on\s+second\s+thought|reconsider|recalculat\w*|not\s+right|doesn't\s+(?:look|seem)\s+right|"
    r"moment|fehler|falsch|korrigier\w*|attendez|erreur|faux|corrig\w*|espera|error|incorrect[oa]|"
    r"подождите|ошибк\w*|неверно|исправ\w*|subiri|kosa|samahani)\b"
    r"|等等|等一下|不对|不對|算错|算錯|错了|更正|重新计算|重新考虑|再算一遍|いや、|待って|間違|訂正|再計算|เดี๋ยว|ผิด|แก้ไข|ভুল|সংশোধন|তপ్పు|తప్పు|సరిదిద్ద", re.I)
# Words that hedge between values: "either 12 or 14".
HEDGE = re.compile(r"\b(?:either|or|maybe|perhaps|possibly|oder|ou|o|или|либо|au|ama)\b|或者|或|还是|還是|か|หรือ|অথবা|বা|లేదా", re.I)
# "not 16 but 18", "不是16而是18": the value after the turn is the answer.
NEGATED = re.compile(r"\s*(?:not\s[^,.;]{0,40}?\bbut|不是[^，。]{0,20}?而是|nicht\s[^,.;]{0,40}?\bsondern|pas\s[^,.;]{0,40}?\bmais|"
                     r"no\s[^,.;]{0,40}?\bsino|не\s[^,.;]{0,40}?\bа)\b", re.I)
# An answer phrase naming a range commits to no value: "The answer is between 12 and 14."
RANGE = re.compile(r"\b(?:between|zwischen|entre|между|kati\s+ya)\b|之间|ระหว่าง", re.I)
BOLD = re.compile(r"\*\*([^*\n]{1,60})\*\*")
THINK_END = re.compile(r"^.*</think>", re.S)
# A number: thousands groups (1,234 / 1，234 / 1 234), decimals with . or a decimal comma, sign.
NUMBER = re.compile(r"(?=[-−\d])[-−]?(?:\d{1,3}(?:[,，]\d{3})+|\d{1,3}(?:[  \u202f]\d{3})+(?![\d.,])|\d+)(?:[.,]\d+)?")
# Fractions: \frac{a}{b}, a/b (the trailing full stop of a sentence is not a decimal point), -a/b.
FRACTION = re.compile(r"\\d?frac\s*\{([^{}]+)\}\s*\{([^{}]+)\}|(?<![\d.,/])(-?\d+)\s*/\s*(\d+)(?![\d/]|[.,]\d)")
MIXED = re.compile(r"(?<![\d.,/])(\d+)\s+(\d+)\s*/\s*(\d+)(?![\d/]|[.,]\d)")
CHOICE = re.compile(r"(?<![A-Za-z])\(?([A-J])\)?(?![A-Za-z])")
# A value that is a number with at most a unit or currency around it (not an expression or a set).
SIMPLE_NUMBER = re.compile(r"\s*[$￥¥€£]?\s*[-−]?[\d.,，  /]+\s*(?:\\?%)?\s*[^\W\d_]*(?:\s+[^\W\d_]+)*\s*[.。]?\s*")
# A line that is only a number: "180.0", "$18", "**42**", "18 dollars".
BARE_LINE = re.compile(r"\s*[*$\\(（]*\s*[$￥¥€£]?\s*[-−]?\d[\d.,，  /]*\s*(?:\\?%)?(?:\s*[^\W\d_]{1,12}){0,3}\s*[*)）$]*\s*[.。]?\s*")
VALUE = re.compile(f"(?=[-−\\d\\\\])(?:{MIXED.pattern}|{FRACTION.pattern}|{NUMBER.pattern})")
FINISHED = re.compile(r"[.。!?！？।)）*$]\s*$")
SENTENCE_BREAK = re.compile(r"[。！？!?।]+|\.(?=\s|$)|\n+")
OPERATOR = re.compile(r"[=+×÷*/]|\d\s*[x-]\s*\d")
SEGMENT_CHARS = 120  # how far after an answer phrase its value may start
TAIL_SENTENCES = 12  # how many sentences from the end a conclusion may stand
SENTENCE_CHARS = 1000  # the end of a sentence that is read (a result comes at its end)
# Digits of other scripts (Bengali, Telugu, Thai, Devanagari, Arabic-Indic, full width) read as 0-9.
DIGITS = str.maketrans({chr(base + i): str(i) for base in (0x09E6, 0x0C66, 0x0E50, 0x0966, 0x0660, 0x06F0, 0xFF10)
                        for i in range(10)})


@dataclass(frozen=True)
class Final:
    """The response's final committed answer: the raw text found and its value as math-verify reads it."""
    raw: str
    value: str | None      # None: something was committed but it is not one number, fraction or choice
    marker: str            # the form: boxed | phrase | bold | conclusion | closing_line | computation | statement
    hedged: bool = False   # "either 12 or 14": committed to no single value
    words: bool = False    # the value was written in words


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


def _plain(s: str) -> str:
    """A matched NUMBER as math-verify reads it right: thousands separators dropped, a decimal comma a point."""
    s = s.replace("−", "-")
    if re.fullmatch(r"-?\d{1,3}(?:[,，  \u202f]\d{3})+(?:[.,]\d+)?", s):
        head, _, tail = s.rpartition(".") if "." in s else (s, "", "")
        return re.sub(r"[,，  \u202f]", "", head) + (f".{tail}" if tail else "")
    if re.fullmatch(r"-?\d+,\d+", s):           # 1,5: a decimal comma (de, fr, es, ru)
        return s.replace(",", ".")
    return s


def number_value(text: str) -> str | None:
    """The first number or fraction in `text` as a plain string math-verify reads right, else None."""
    text = text.translate(DIGITS).replace("−", "-").replace("\\!", "").replace("{,}", ",")
    frac = FRACTION.search(text)
    num = NUMBER.search(text)
    mixed = MIXED.search(text)
    if mixed and (not num or mixed.start() <= num.start()):
        whole, top, bottom = (int(g) for g in mixed.groups())
        return f"{whole * bottom + top}/{bottom}" if bottom else None
    if frac and (not num or frac.start() <= num.start()):
        if frac.group(1) is not None:
            top_v, bottom_v = number_value(frac.group(1)), number_value(frac.group(2))
        else:
            top_v, bottom_v = frac.group(3), frac.group(4)
        sign = "-" if frac.group(1) is not None and text[max(frac.start() - 1, 0)] == "-" else ""
        return f"{sign}{top_v}/{bottom_v}" if top_v and bottom_v else None
    if not num:
        return None
    s = _plain(num.group(0))
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
        return words_value(raw) or raw
    return number_value(plain)


def _values(text: str) -> list[str]:
    """Every distinct number or fraction in `text`, in order."""
    found: list[str] = []
    for m in VALUE.finditer(text):
        value = number_value(text[m.start():m.end() + 3])
        if value is not None and value not in found:
            found.append(value)
    return found


def _result(text: str) -> list[str]:
    """[the value right after the last `=`] ("4+5=9 points in the 40 minutes" -> 9), else []."""
    if "=" not in text:
        return []
    after = text.rsplit("=", 1)[1]
    m = VALUE.match(after, re.match(r"\s*[$￥¥€£]?\s*", after).end())
    if not m or OPERATOR.search(after[m.end():m.end() + 3]):
        return []
    value = number_value(after[m.start():m.end() + 3])
    return [value] if value else []


def _same_number(a: str | None, b: str | None) -> bool:
    try:
        return a is not None and b is not None and Decimal(a) == Decimal(b)
    except InvalidOperation:
        return a == b


def _segment_final(segment: str, marker: str) -> Final | None:
    """The value a commitment's text holds: a number (or fraction), else a number in words; hedges flagged."""
    negated = NEGATED.match(segment)
    segment = segment[negated.end():] if negated else segment     # "not 16 but 18"
    value = number_value(segment)
    if value is None:
        words = words_value(segment)
        return Final(segment.strip(), words, marker, words=True) if words else None
    hedged = len(_values(segment)) > 1 and (HEDGE.search(segment) or RANGE.search(segment)) is not None
    return Final(segment.strip(), None if hedged else value, marker, hedged=hedged)


def _sentences(text: str) -> list[tuple[int, str]]:
    """(position, sentence) of the last TAIL_SENTENCES sentences; a line break ends a sentence too."""
    out, last = [], 0
    for m in SENTENCE_BREAK.finditer(text):
        if text[last:m.start()].strip():
            out.append((last, text[last:m.end()]))
        last = m.end()
    if text[last:].strip():
        out.append((last, text[last:]))
    return out[-TAIL_SENTENCES:]


def _closing(text: str, after: int) -> Final | None:
    """The closing number line or the concluding sentence at the end of `text`, past position `after`.

    Sentences without numbers, checks, conversions and up to two remarks without arithmetic may follow
    a conclusion; arithmetic may not. A conclusion with several values and no `=` is returned without a
    value (ambiguous); a sentence the text stops in the middle of concludes nothing.
    """
    tail = text[after:]
    for line in reversed(tail.strip().splitlines()[-4:]):
        if NUMBER.search(line):
            if BARE_LINE.fullmatch(line):
                return Final(line.strip(), number_value(line), "closing_line")
            break
    remarks = 0
    # The last sentence, when it states one number ("Janet makes $18 every day.") or ends in one computed
    # result ("She makes 9 * 2 = $18 every day."): the answer unless a conclusion stands before it.
    statement = None
    # Only a finished text ends in a statement: one cut mid-sentence is reasoning that stopped.
    finished = FINISHED.search(tail) is not None
    last_numeric = True                # no sentence with numbers (other than a check) after this one
    for from_end, (_, sentence) in enumerate(reversed(_sentences(tail))):
        s = sentence.strip()[-SENTENCE_CHARS:]
        cut = from_end == 0 and not finished         # the sentence the text stops in the middle of
        has_digits = NUMBER.search(s) is not None
        if CHECK.search(s) or s.startswith(("(", "（")):
            continue                   # a check or a conversion after the answer
        if CORRECTION.search(s):
            break                      # a self-correction: nothing before it stands
        cues = list(CONCLUSION.finditer(s))
        if cues:
            # The clause from the last cue that still has a value after it ("So she has 18 apples in total."),
            # else the whole sentence ("She sold 72 clips altogether."); after `=`, only the result.
            for start in [cue.start() for cue in reversed(cues)] + ([] if cut else [0]):
                clause = s[start:]
                values = _result(clause) or _values(clause)
                if values:
                    break
            converted = CONVERTED.search(clause)
            if len(values) > 1 and converted and not HEDGE.search(clause):
                clause = clause[:converted.start()]          # "3 小时，即180分钟": the conversion is not the answer
                values = _values(clause)
            if len(values) > 1 and "1" in values and not HEDGE.search(clause):
                values = [v for v in values if v != "1"]      # "1日に18ドル", "1 box holds 18 eggs"
            copula = list(COPULA.finditer(clause))
            if len(values) > 1 and copula and not HEDGE.search(clause):
                values = _values(clause[copula[-1].end():])[:1]    # "the difference between 20 and 2 is 18"
            if len(values) == 1:
                if statement is not None and not _same_number(statement.value, values[0]) and \
                        not COMPARISON.search(statement.raw):
                    return Final(s, None, "conclusion")      # "So she has 18 in total. She has 19." is ambiguous
                return Final(clause.strip(), values[0], "conclusion")
            if values:
                return Final(clause.strip(), None, "conclusion", hedged=HEDGE.search(clause) is not None)
            words = last_words_value(clause)
            if words:
                return Final(clause.strip(), words, "conclusion", words=True)
        if not has_digits:
            continue                   # "我觉得就是这个。", "Hope this helps!"
        if last_numeric and _result(s):
            return Final(s.rsplit("=", 1)[1].strip(), _result(s)[0], "computation")
        if last_numeric and len(_values(s)) > 1 and HEDGE.search(s):
            return Final(s, None, "statement", hedged=True)     # "The answer could be 18 or 16."
        if OPERATOR.search(s) or remarks == 2:
            break                      # the reasoning goes on: nothing before it was the conclusion
        if last_numeric and finished and len(_values(s)) == 1:
            if HEDGE.search(s):
                return Final(s, None, "statement", hedged=True)     # "Maybe 18? Or 20?"
            statement = Final(s, number_value(s), "statement")
        last_numeric = False
        remarks += 1                   # "That's 3 more than last week."
    # "Janet makes $18 every day." ending the worked steps: a plain statement of one number.
    return statement


def final_answer(response: str, choices: bool = False) -> Final | None:
    """The last committed answer in the response (a later self-correction wins; checks after it do not).

    Committed means inside \\boxed{}, right after an answer phrase ("The answer is", "答案是", "####",
    "答えは", ...), a bold number in a concluding paragraph, or (see the module doc) a concluding
    sentence or a closing number line at the end. None when nothing commits.
    """
    text = strip_think(response).translate(DIGITS)
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
        segment = re.split(r"\n\s*\n|(?<=[.。!?！？।])\s+(?=[A-Z\u4e00-\u9fff])|(?<=[。！？।])|\.(?=\s|$)", segment, maxsplit=1)[0]
        if choices:
            value = value_of(segment, choices)
            final = Final(segment.strip(), value, "phrase") if value is not None else None
        else:
            final = _segment_final(segment, "phrase")
        if final is not None:
            found.append((m.start(), final))
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
    explicit = max(found, key=lambda pair: pair[0]) if found else None
    if choices:
        return explicit[1] if explicit else None
    after = explicit[0] if explicit else 0
    if explicit:
        # Past the explicit answer, a conclusion replaces it only after a self-correction.
        correction = CORRECTION.search(text, explicit[0] + len(explicit[1].raw))
        if not correction:
            return explicit[1]
        after = correction.end()
    closing = _closing(text, after)
    if closing is not None:
        return closing
    return explicit[1] if explicit else None


def gold_value(gold: object) -> str | None:
    """The gold answer's value: GSM8K `#### N`, a MATH `\\boxed{}` solution, a bare number, a choice letter."""
    if gold is None or isinstance(gold, bool):
        return None
    if isinstance(gold, float) and gold.is_integer():
        return str(int(gold))
    if isinstance(gold, (int, float)):
        return str(gold)
    text = str(gold).strip().translate(DIGITS)
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


PLAIN_DECIMAL = re.compile(r"-?\d+(?:\.\d+)?")
# 1.920 or 1.234.567: thousands with dots (de, es, ...), when a decimal reading does not match the gold.
DOTTED_THOUSANDS = re.compile(r"-?\d{1,3}(?:\.\d{3})+")


def equivalent(gold: str, predicted: str) -> bool | None:
    """math-verify's equivalence of two cut-out values; None when it cannot parse one of them."""
    if is_choice(gold):
        return gold == predicted
    if PLAIN_DECIMAL.fullmatch(gold) and PLAIN_DECIMAL.fullmatch(predicted):
        try:
            g, p = Decimal(gold), Decimal(predicted)
        except InvalidOperation:
            g = p = None
        # Two plain numbers: exact when equal or both whole; math-verify only for its rounding of decimals.
        if g is not None and (g == p or (g == g.to_integral_value() and p == p.to_integral_value())):
            return g == p
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
    form: str | None = None  # how the final answer was written: boxed | phrase | bold | conclusion | closing_line (+ _words)


def judge_by_rule(answer: str | None, gold: object, finish_reason: str | None = None) -> RuleVerdict:
    """Decide where the rules are sure; `undecided` (for an LLM or a person) where they are not.

    A response with no committed final answer (reasoning that stops, a refusal) and one that hedges
    ("either 12 or 14") are rejected: there is no answer to keep.
    """
    gold_v = gold_value(gold)
    text = strip_think(answer or "").strip()
    if not text:
        return RuleVerdict("reject", "empty_answer", None, gold_v)
    # An open <think> that never closes: the model was cut off before it answered.
    if finish_reason == "length" or ("<think>" in text and "</think>" not in (answer or "")):
        return RuleVerdict("reject", "truncated", None, gold_v)
    if gold_v is None:
        return RuleVerdict("undecided", "no_gold_value", None, None)
    final = final_answer(text, choices=is_choice(gold_v))
    if final is None:
        return RuleVerdict("reject", "no_final_answer", None, gold_v)
    form = final.marker + ("_words" if final.words else "")
    if final.hedged:
        return RuleVerdict("reject", "hedged", final.raw[:80], gold_v, form)
    if final.value is None:
        return RuleVerdict("undecided", "ambiguous_final_answer" if final.marker == "conclusion" else "unreadable_answer",
                           final.raw[:80], gold_v, form)
    same = equivalent(gold_v, final.value)
    if same is False and DOTTED_THOUSANDS.fullmatch(final.value):
        same = equivalent(gold_v, final.value.replace(".", ""))     # 1.920 written the German way
    if same is None:
        return RuleVerdict("undecided", "not_comparable", final.value, gold_v, form)
    return RuleVerdict("accept" if same else "reject", "equal" if same else "different", final.value, gold_v, form)
