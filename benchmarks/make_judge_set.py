"""Write benchmarks/data/judge_labelled.jsonl: teacher-style responses with known verdicts.

Each label is fixed by construction (the value a response commits to, compared with the gold by
hand-written arithmetic), never by the judge it is used to measure; number words come from this
file's own lists, not from the judge's table. The mix follows what R1-style teachers and students
produce, in the 11 MGSM languages: explicit commitments (\\boxed{}, "The answer is", "答：", bold),
concluding sentences ("So the final amount is $1920.", "综上所述，最终结果为 57500。"), a last line that
is only the number, numbers in words, slash and mixed fractions, `</think>` followed by a worked
summary; long reasoning full of distractor numbers, self-corrections, checks, remarks and unit
conversions after the answer; and answers with nothing to keep (truncated, refused, "either 12 or
14", reasoning that stops), which are labelled reject. Each row has `lang`, `form` (how the answer is
written) and `kind` (what happens around it). A few hard cases the rules are not expected to get
right are kept in on purpose ("not 16 but 18").

    python benchmarks/make_judge_set.py   # rewrites the file; seeded, so the same every time
"""

from __future__ import annotations

import json
import random
from pathlib import Path

OUT = Path(__file__).parent / "data" / "judge_labelled.jsonl"
HANDWRITTEN = Path(__file__).parent / "data" / "judge_handwritten.jsonl"
LANGS = ["en", "zh", "ja", "de", "fr", "es", "ru", "sw", "th", "bn", "te"]

# How each language commits to an answer explicitly: (form, template with {v}).
COMMIT = {
    "en": [("phrase", "The answer is {v}."), ("boxed", "So the final answer is $\\boxed{{{v}}}$."), ("phrase", "#### {v}"),
           ("bold", "Therefore, **{v}**"), ("phrase", "Final answer: {v}"), ("phrase", "**Answer:** {v}")],
    "zh": [("phrase", "答案是{v}。"), ("boxed", "所以最终答案是 $\\boxed{{{v}}}$。"), ("phrase", "答案：{v}"),
           ("phrase", "因此，答案为{v}元。"), ("phrase", "答：{v}")],
    "ja": [("phrase", "答えは{v}です。"), ("boxed", "したがって、答えは $\\boxed{{{v}}}$ です。"), ("phrase", "答え：{v}")],
    "de": [("phrase", "Die Antwort lautet {v}."), ("boxed", "Die Antwort ist $\\boxed{{{v}}}$."), ("phrase", "Antwort: {v}")],
    "fr": [("phrase", "La réponse est {v}."), ("boxed", "La réponse finale est $\\boxed{{{v}}}$."), ("phrase", "Réponse : {v}")],
    "es": [("phrase", "La respuesta es {v}."), ("boxed", "La respuesta final es $\\boxed{{{v}}}$."), ("phrase", "Respuesta: {v}")],
    "ru": [("phrase", "Ответ: {v}."), ("boxed", "Ответ: $\\boxed{{{v}}}$.")],
    "sw": [("phrase", "Jibu ni {v}."), ("boxed", "Jibu ni $\\boxed{{{v}}}$.")],
    "th": [("phrase", "คำตอบคือ {v}"), ("boxed", "คำตอบคือ $\\boxed{{{v}}}$")],
    "bn": [("phrase", "উত্তর হল {v}।"), ("boxed", "উত্তর হল $\\boxed{{{v}}}$।")],
    "te": [("phrase", "సమాధానం: {v}"), ("boxed", "సమాధానం $\\boxed{{{v}}}$")],
}
# Concluding sentences that state the result without an answer phrase ({v}: the value as written).
CONCLUDE = {
    "en": ["So the final amount is ${v}.", "The total is ${v}.", "Therefore, she spends ${v} in all.",
           "Thus, he has {v} apples altogether.", "In total, they need {v} bottles.", "So Janet makes ${v} every day."],
    "zh": ["综上所述，最终结果为 {v}。", "这样得到 {v}。我觉得就是这个。", "所以她一共有{v}个苹果。", "因此，总共需要{v}元。"],
    "ja": ["したがって、合計は{v}円です。", "よって、全部で{v}個です。"],
    "de": ["Insgesamt sind es also {v} Euro.", "Daher hat sie {v} Äpfel.", "Somit beträgt die Summe {v}."],
    "fr": ["Donc, le total est de {v} euros.", "Au total, elle a {v} pommes."],
    "es": ["Por lo tanto, el total es {v} dólares.", "En total, ella tiene {v} manzanas."],
    "ru": ["Итак, всего {v} рублей.", "Поэтому у неё {v} яблок."],
    "sw": ["Kwa hiyo, jumla ni {v}.", "Hivyo, ana machungwa {v}."],
    "th": ["ดังนั้น รวมทั้งหมด {v} บาท", "ดังนั้นเธอมี {v} ผล"],
    "bn": ["অতএব, মোট {v} টাকা।", "সুতরাং, তার কাছে {v}টি আপেল আছে।"],
    "te": ["కాబట్టి, మొత్తం {v} రూపాయలు.", "అందువల్ల, ఆమె దగ్గర {v} పండ్లు ఉన్నాయి."],
}
# Endings without an answer phrase or a conclusion word: a statement, a computed result, a bold value.
ENDINGS = {
    "en": [("statement", "Janet makes ${v} every day at the farmers' market."), ("computation", "She makes 9 × 2 = ${v} every day."),
           ("bold", "So, Janet makes **${v}** every day."), ("conclusion", "In conclusion, she earns {v} dollars.")],
    "zh": [("statement", "珍妮特每天在农贸市场赚{v}美元。"), ("computation", "她每天赚 9×2={v} 美元。"), ("phrase", "最终答案：{v}")],
    "ja": [("statement", "ジャネットは毎日{v}ドル稼ぎます。"), ("computation", "9×2={v}ドルです。"), ("phrase", "答え：{v}ドル")],
    "de": [("statement", "Janet verdient täglich {v} Dollar."), ("computation", "Sie verdient 9 × 2 = {v} Dollar pro Tag.")],
    "fr": [("statement", "Janet gagne {v} dollars par jour."), ("computation", "Elle gagne 9 × 2 = {v} dollars par jour.")],
    "es": [("statement", "Janet gana {v} dólares al día."), ("computation", "Ella gana 9 × 2 = {v} dólares al día.")],
    "ru": [("statement", "Джанет зарабатывает {v} долларов в день."), ("computation", "Она зарабатывает 9 × 2 = {v} долларов в день.")],
    "sw": [("statement", "Janet anapata dola {v} kila siku."), ("computation", "Anapata 9 × 2 = {v} kila siku.")],
    "th": [("computation", "เธอได้เงิน 9 × 2 = {v} ดอลลาร์ต่อวัน"), ("conclusion", "ดังนั้น เจเน็ตได้เงิน {v} ดอลลาร์ต่อวัน")],
    "bn": [("statement", "জ্যানেট প্রতিদিন {v} ডলার আয় করে।"), ("computation", "সে প্রতিদিন 9 × 2 = {v} ডলার আয় করে।")],
    "te": [("statement", "జానెట్ రోజుకు {v} డాలర్లు సంపాదిస్తుంది."), ("computation", "ఆమె రోజుకు 9 × 2 = {v} డాలర్లు సంపాదిస్తుంది.")],
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
# The first step only, and where the reasoning stops (no result yet).
STOPS = {
    "en": ("First, {a} times {b} is {ab}.", "Next, we need to account for the rest"),
    "zh": ("首先，{a} 乘以 {b} 等于 {ab}。", "接下来我们还需要考虑"),
    "ja": ("まず、{a}×{b}={ab}です。", "次に残りを考えると"),
    "de": ("Zuerst ist {a} mal {b} gleich {ab}.", "Als Nächstes müssen wir noch"),
    "fr": ("D'abord, {a} fois {b} font {ab}.", "Ensuite, il faut encore"),
    "es": ("Primero, {a} por {b} es {ab}.", "Luego tenemos que"),
    "ru": ("Сначала {a} умножить на {b} будет {ab}.", "Далее нужно учесть"),
    "sw": ("Kwanza, {a} mara {b} ni {ab}.", "Kisha tunahitaji"),
    "th": ("ขั้นแรก {a} คูณ {b} ได้ {ab}", "ต่อไปเราต้อง"),
    "bn": ("প্রথমে, {a} গুণ {b} হল {ab}।", "এরপর আমাদের"),
    "te": ("మొదట, {a} గుణించు {b} = {ab}.", "తర్వాత మనం"),
}
WORDS = {   # 12, 15, 18, 20 in words
    "en": ["twelve", "fifteen", "eighteen", "twenty"], "zh": ["十二", "十五", "十八", "二十"],
    "ja": ["十二", "十五", "十八", "二十"], "de": ["zwölf", "fünfzehn", "achtzehn", "zwanzig"],
    "fr": ["douze", "quinze", "dix-huit", "vingt"], "es": ["doce", "quince", "dieciocho", "veinte"],
    "ru": ["двенадцать", "пятнадцать", "восемнадцать", "двадцать"],
    "sw": ["kumi na mbili", "kumi na tano", "kumi na nane", "ishirini"], "th": ["สิบสอง", "สิบห้า", "สิบแปด", "ยี่สิบ"],
    "bn": ["বারো", "পনেরো", "আঠারো", "বিশ"], "te": ["పన్నెండు", "పదిహేను", "పద్దెనిమిది", "ఇరవై"],
}
WORD_VALUES = [12, 15, 18, 20]
CORRECTION = {"en": "Wait, I made a mistake in the addition. Let me redo it.", "zh": "等等，我算错了，重新计算。",
              "ja": "待って、計算を間違えました。", "de": "Moment, ich habe einen Fehler gemacht.", "fr": "Attendez, j'ai fait une erreur.",
              "es": "Espera, cometí un error.", "ru": "Подождите, я допустил ошибку.", "sw": "Subiri, nimefanya kosa.",
              "th": "เดี๋ยวก่อน ฉันคำนวณผิด", "bn": "দাঁড়াও, আমি ভুল করেছি।", "te": "ఆగండి, నేను తప్పు చేశాను."}
CHECK = {"en": "Let me verify: {ab} + {c} = {abc}, and {a} x {b} = {ab}.", "zh": "验证：{ab} + {c} = {abc}，{a}×{b}={ab}。",
         "ja": "確認：{ab}+{c}={abc}。", "de": "Probe: {ab} + {c} = {abc}.", "fr": "Vérification : {ab} + {c} = {abc}.",
         "es": "Comprobación: {ab} + {c} = {abc}.", "ru": "Проверка: {ab} + {c} = {abc}.", "sw": "Kuhakiki: {ab} + {c} = {abc}.",
         "th": "ตรวจสอบ: {ab} + {c} = {abc}", "bn": "যাচাই: {ab} + {c} = {abc}।", "te": "తనిఖీ: {ab} + {c} = {abc}."}
REMARK = {"en": "That's {d} more than last week.", "zh": "这比上周多{d}个。", "ja": "これは先週より{d}多いです。",
          "de": "Das sind {d} mehr als letzte Woche.", "fr": "C'est {d} de plus que la semaine dernière.",
          "es": "Es decir, {d} más que la semana pasada.", "ru": "Это на {d} больше, чем на прошлой неделе.",
          "sw": "Yaani {d} zaidi ya wiki iliyopita.", "th": "ซึ่งมากกว่าสัปดาห์ที่แล้ว {d}", "bn": "অর্থাৎ গত সপ্তাহের চেয়ে {d} বেশি।",
          "te": "అంటే గత వారం కంటే {d} ఎక్కువ."}
HOURS = {"en": ("So it takes {h} hours in total.", "That is {m} minutes."), "zh": ("所以一共需要{h}小时。", "即{m}分钟。"),
         "ja": ("したがって、合計{h}時間かかります。", "つまり{m}分です。"), "de": ("Insgesamt dauert es also {h} Stunden.", "Das sind {m} Minuten."),
         "fr": ("Donc, cela prend {h} heures au total.", "Soit {m} minutes."), "es": ("Por lo tanto, tarda {h} horas en total.", "Es decir, {m} minutos."),
         "ru": ("Итак, всего {h} часа.", "То есть {m} минут."), "sw": ("Kwa hiyo, jumla ni saa {h}.", "Yaani dakika {m}."),
         "th": ("ดังนั้น รวมทั้งหมด {h} ชั่วโมง", "คิดเป็น {m} นาที"), "bn": ("অতএব, মোট {h} ঘণ্টা লাগে।", "অর্থাৎ {m} মিনিট।"),
         "te": ("కాబట్టి, మొత్తం {h} గంటలు.", "అంటే {m} నిమిషాలు.")}
HEDGE = {"en": "The answer is either {v} or {w}.", "zh": "答案可能是{v}或{w}。", "ja": "答えは{v}か{w}です。",
         "de": "Die Antwort ist entweder {v} oder {w}.", "fr": "La réponse est {v} ou {w}.", "es": "La respuesta es {v} o {w}.",
         "ru": "Ответ: {v} или {w}.", "sw": "Jibu ni {v} au {w}.", "th": "คำตอบคือ {v} หรือ {w}", "bn": "উত্তর হল {v} অথবা {w}।",
         "te": "సమాధానం {v} లేదా {w}."}
REFUSE = {"en": "I'm sorry, but I can't help with that.", "zh": "抱歉，这个问题我无法回答。", "ja": "申し訳ありませんが、お答えできません。",
          "de": "Es tut mir leid, dabei kann ich nicht helfen.", "fr": "Désolé, je ne peux pas répondre à cette question.",
          "es": "Lo siento, no puedo ayudar con eso.", "ru": "Извините, я не могу помочь с этим.", "sw": "Samahani, siwezi kusaidia na hilo.",
          "th": "ขออภัย ฉันไม่สามารถตอบคำถามนี้ได้", "bn": "দুঃখিত, আমি এতে সাহায্য করতে পারছি না।", "te": "క్షమించండి, నేను దీనికి సహాయం చేయలేను."}
# Between two sentences: Thai writes no full stop, so a new sentence starts on a new line.
SPACE = {lang: "\n" if lang == "th" else " " for lang in LANGS}
NATIVE_DIGITS = {"bn": "০১২৩৪৫৬৭৮৯", "th": "๐๑๒๓๔๕๖๗๘๙", "te": "౦౧౨౩౪౫౬౭౮౯", "zh": "０１２３４５６７８９"}


def thousands(n: int) -> str:
    return f"{n:,}"


def shown_number(rng: random.Random, value: int, lang: str) -> str:
    """A value written the ways teachers write it: 1,234, 1234.0, native digits."""
    style = rng.random()
    if value >= 1000 and style < 0.4:
        return thousands(value)
    if style < 0.5:
        return f"{value}.0"
    if style < 0.6 and lang in NATIVE_DIGITS:
        return str(value).translate(str.maketrans("0123456789", NATIVE_DIGITS[lang]))
    return str(value)


class Builder:
    def __init__(self) -> None:
        self.rows: list[dict] = []

    def add(self, lang: str, form: str, kind: str, gold: object, answer: str, label: str, finish: str = "stop") -> None:
        self.rows.append({"id": f"j{len(self.rows):04d}", "lang": lang, "form": form, "kind": kind, "gold": gold,
                          "answer": answer, "finish_reason": finish, "label": label})


def problem(rng: random.Random) -> dict:
    a, b, c = rng.randint(3, 60), rng.randint(2, 40), rng.randint(1, 900)
    return {"a": a, "b": b, "c": c, "ab": a * b, "abc": a * b + c}


def gold_text(rng: random.Random, gold: int) -> str:
    return f"Working... #### {thousands(gold) if gold >= 1000 and rng.random() < 0.5 else gold}"


def wrong_value(rng: random.Random, gold: int) -> int:
    return gold + rng.choice([-10, -2, -1, 1, 2, 5, 100, 7])


def explicit_and_twists(rng: random.Random, out: Builder, lang: str) -> None:
    """An explicit commitment (phrase, boxed, bold) after the worked steps, with the twists around it."""
    p = problem(rng)
    gold = p["abc"]
    correct = rng.random() < 0.6
    value = gold if correct else wrong_value(rng, gold)
    form, template = rng.choice(COMMIT[lang])
    steps = STEP[lang].format(**p)
    commit = template.format(v=shown_number(rng, value, lang))
    answer, kind = f"{steps}\n\n{commit}", "plain"
    twist = rng.random()
    if twist < 0.15:                                   # a wrong answer first, then a self-correction
        _, first = rng.choice(COMMIT[lang])
        answer = f"{steps}\n\n{first.format(v=value + rng.choice([1, 3, 7]))}\n\n{CORRECTION[lang]} {steps}\n\n{commit}"
        kind = "self_correction"
    elif twist < 0.3:                                  # a check after the answer, with other numbers
        answer, kind = f"{answer}\n\n{CHECK[lang].format(**p)}", "check_after"
    elif twist < 0.4:                                  # a remark number after the answer
        answer, kind = f"{answer}{SPACE[lang]}{REMARK[lang].format(d=rng.randint(2, 9))}", "remark_after"
    elif twist < 0.55:                                 # reasoning inlined as <think>
        noise = " ".join(str(rng.randint(1, 999)) for _ in range(rng.randint(0, 4)))
        answer = f"<think>\nHmm, {noise} maybe {value + 4}? The answer is {value + 4}? No.\n</think>\n\n{answer}"
        kind = "think_inline"
    elif twist < 0.65:                                 # long reasoning with many distractor numbers
        noise = " ".join(str(rng.randint(1, 999)) for _ in range(rng.randint(2, 6)))
        answer = "\n\n".join([steps] * rng.randint(3, 8) + [f"({noise})", commit])
        kind = "long_distractors"
    out.add(lang, form, kind, gold_text(rng, gold), answer, "accept" if value == gold else "reject")


def conclusions(rng: random.Random, out: Builder, lang: str) -> None:
    """A concluding sentence with no answer phrase, possibly after </think>, a correction, a check or a remark."""
    p = problem(rng)
    gold = p["abc"]
    value = gold if rng.random() < 0.6 else wrong_value(rng, gold)
    steps = STEP[lang].format(**p)
    conclude = rng.choice(CONCLUDE[lang]).format(v=shown_number(rng, value, lang) if lang != "en" else
                                                 (thousands(value) if value >= 1000 and rng.random() < 0.5 else
                                                  f"{value}.00" if rng.random() < 0.3 else str(value)))
    answer, kind = f"{steps}\n\n{conclude}", "plain"
    twist = rng.random()
    if twist < 0.2:
        wrong = value + rng.choice([1, 3, 7])
        answer = f"{steps}\n\n{COMMIT[lang][0][1].format(v=wrong)}\n\n{CORRECTION[lang]} {steps}\n\n{conclude}"
        kind = "self_correction"
    elif twist < 0.35:
        answer, kind = f"{answer}\n\n{CHECK[lang].format(**p)}", "check_after"
    elif twist < 0.5:
        answer, kind = f"{answer}{SPACE[lang]}{REMARK[lang].format(d=rng.randint(2, 9))}", "remark_after"
    elif twist < 0.7:
        answer = f"<think>\nOkay, {p['a']} and {p['b']}... maybe {value + 3}? Let me recompute.\n</think>\n\n{answer}"
        kind = "think_summary"
    out.add(lang, "conclusion", kind, gold_text(rng, gold), answer, "accept" if value == gold else "reject")


def closing_lines(rng: random.Random, out: Builder, lang: str) -> None:
    """The worked steps, then a last line that is only the number."""
    p = problem(rng)
    gold = p["abc"]
    value = gold if rng.random() < 0.6 else wrong_value(rng, gold)
    last = rng.choice([str(value), f"{value}.0", f"${value}" if lang == "en" else str(value), f"**{value}**"])
    answer = f"{STEP[lang].format(**p)}\n\n{last}"
    kind = "plain"
    if rng.random() < 0.3:
        answer, kind = f"<think>\nLet me see, {p['ab']} plus {p['c']}.\n</think>\n\n{answer}", "think_summary"
    out.add(lang, "closing_line", kind, gold_text(rng, gold), answer, "accept" if value == gold else "reject")


def number_words(rng: random.Random, out: Builder, lang: str) -> None:
    i = rng.randrange(4)
    j = i if rng.random() < 0.6 else (i + rng.randint(1, 3)) % 4
    gold, said = WORD_VALUES[i], WORDS[lang][j]
    if rng.random() < 0.6:
        answer = f"{STEP[lang].format(a=gold - 2, b=1, c=2, ab=gold - 2, abc=gold)}\n\n{COMMIT[lang][0][1].format(v=said)}"
    else:
        answer = f"{STEP[lang].format(a=gold - 2, b=1, c=2, ab=gold - 2, abc=gold)}\n\n{CONCLUDE[lang][0].format(v=said).replace('$', '')}"
    out.add(lang, "words", "plain", f"#### {gold}", answer, "accept" if i == j else "reject")


def endings(rng: random.Random, out: Builder, lang: str) -> None:
    """Worked steps ending in a plain statement, a computed result or a bold value, in each language."""
    p = problem(rng)
    gold = p["abc"]
    value = gold if rng.random() < 0.6 else wrong_value(rng, gold)
    form, template = rng.choice(ENDINGS[lang])
    answer = f"{STEP[lang].format(**p)}\n\n{template.format(v=shown_number(rng, value, lang))}"
    kind = "plain"
    if rng.random() < 0.3:
        answer, kind = f"<think>\nSo {p['ab']} plus {p['c']}... maybe {value + 2}?\n</think>\n\n{answer}", "think_summary"
    out.add(lang, form, kind, gold_text(rng, gold), answer, "accept" if value == gold else "reject")


def fractions(rng: random.Random, out: Builder, lang: str) -> None:
    """Slash fractions read whole in a final-answer phrase: 21/5, -3/4, 1 1/2."""
    top, bottom = rng.choice([(21, 5), (7, 4), (5, 3), (9, 8), (13, 6)])
    case = rng.randrange(4)
    phrase = COMMIT[lang][0][1]
    if case == 0:
        gold, said, label = f"\\frac{{{top}}}{{{bottom}}}", f"{top}/{bottom}", "accept"
    elif case == 1:
        gold, said, label = f"-{top / bottom:g}" if bottom in (4, 8, 5) else f"-\\frac{{{top}}}{{{bottom}}}", f"-{top}/{bottom}", "accept"
    elif case == 2:
        whole, rest = divmod(top, bottom)
        gold, said, label = f"\\frac{{{top}}}{{{bottom}}}", f"{whole} {rest}/{bottom}", "accept"
    else:
        gold, said, label = f"\\frac{{{top}}}{{{bottom}}}", f"{top}/{bottom + 1}", "reject"
    out.add(lang, "fraction", "plain", gold, f"{STEP[lang].format(a=top, b=1, c=0, ab=top, abc=top)}\n\n{phrase.format(v=said)}", label)


def conversions(rng: random.Random, out: Builder, lang: str) -> None:
    """Units converted after the answer are not the answer: hours asked, minutes remarked (and the reverse)."""
    h = rng.randint(2, 9)
    said, then = HOURS[lang]
    answer = f"{STEP[lang].format(a=h, b=1, c=0, ab=h, abc=h)}\n\n{said.format(h=h)}{SPACE[lang]}{then.format(m=h * 60)}"
    asked_minutes = rng.random() < 0.4
    out.add(lang, "conclusion", "unit_after", f"#### {h * 60 if asked_minutes else h}", answer,
            "reject" if asked_minutes else "accept")
    pct = rng.choice([15, 20, 25, 40, 60])
    decimal = {"en": "As a decimal, that is {d}.", "zh": "即小数{d}。"}.get(lang, "({d})")
    answer = f"{COMMIT[lang][0][1].format(v=f'{pct}%')} {decimal.format(d=pct / 100)}"
    out.add(lang, "phrase", "percent_after", f"#### {pct}", answer, "accept")
    out.add(lang, "phrase", "percent_vs_fraction", f"#### {pct}", COMMIT[lang][0][1].format(v=f"{pct / 100:g}"), "reject")


def nothing_to_keep(rng: random.Random, out: Builder, lang: str) -> None:
    """Truncated, refused, hedged, or reasoning that stops: labelled reject whatever the numbers."""
    p = problem(rng)
    gold = p["abc"]
    first, stop = STOPS[lang]
    out.add(lang, "none", "truncated", gold_text(rng, gold), f"{STEP[lang].format(**p)[:-20]}", "reject", "length")
    out.add(lang, "none", "truncated_stop", gold_text(rng, gold), f"{first.format(**p)} {stop}", "reject")
    out.add(lang, "none", "refused", gold_text(rng, gold), REFUSE[lang], "reject")
    out.add(lang, "none", "think_unfinished", gold_text(rng, gold),
            f"<think>\n{STEP[lang].format(**p)} The answer is {gold}? Let me check {p['a']} x", "reject")
    other = gold + rng.choice([2, 10])
    pair = (gold, other) if rng.random() < 0.5 else (other, gold)
    out.add(lang, "phrase", "hedged", gold_text(rng, gold), f"{STEP[lang].format(**p)}\n\n{HEDGE[lang].format(v=pair[0], w=pair[1])}", "reject")


def specials(out: Builder) -> None:
    for n, (gold, shown, label) in enumerate([("0.75", "\\frac{3}{4}", "accept"), ("0.75", "3/4", "accept"),
                                              ("\\frac{1}{2}", "0.5", "accept"), ("\\frac{2}{3}", "0.67", "reject"),
                                              ("\\frac{5}{4}", "\\dfrac{5}{4}", "accept"), ("1.5", "\\frac{3}{2}", "accept"),
                                              ("0.2", "\\frac{1}{4}", "reject")]):
        out.add("en", "boxed", "fraction", f"The solution... so the result is $\\boxed{{{gold}}}$", f"Compute: ... The answer is $\\boxed{{{shown}}}$.", label)
    for n in range(6):
        v = 1000 * (n + 1) + 234
        out.add("en", "phrase", "thousands", f"#### {v:,}", f"The total is {v:,} dollars. The answer is ${v:,}.", "accept")
        out.add("zh", "phrase", "thousands_cjk", f"#### {v}", f"总共是{v:,}元。答案是{v:,}元。", "accept")
        out.add("ja", "phrase", "thousands_ja", v, f"合計は{v}円です。答えは{v}です。", "accept")
        out.add("de", "phrase", "decimal_comma", f"{n + 1}.5", f"Die Antwort lautet {n + 1},5 Liter.", "accept")
        out.add("en", "phrase", "empty", f"#### {20 + n}", "", "reject")
    for letter, said, label in [("B", "答案是:B", "accept"), ("C", "答案是：A", "reject"), ("A", "The answer is (A).", "accept"),
                                ("D", "So the answer is \\boxed{D}.", "accept"), ("B", "答案是 C", "reject"),
                                ("E", "The answer is E", "accept")]:
        out.add("en", "phrase", "choice", letter, f"Let me compare the options A, B, C and D carefully.\n\n{said}", label)
    for n in range(4):
        out.add("en", "conclusion", "statement", f"#### {40 + n}", f"Janet ends up with {40 + n} eggs to sell each day.", "accept")
    out.add("en", "phrase", "not_x_but_y", "#### 18", "The answer is not 16 but 18.", "accept")       # hard: negation
    out.add("en", "bold", "bold_only", "#### 30", "Step 1: **5** boxes. Step 2: 5 x 6 = **30**", "accept")
    out.add("en", "boxed", "expression", "x^2 + 1", "Hence $f(x) = \\boxed{1 + x^2}$.", "accept")
    out.add("en", "boxed", "set", "\\{1, 2\\}", "The solutions are $\\boxed{\\{2, 1\\}}$.", "accept")


def handwritten(out: Builder) -> None:
    """Responses written by hand in other words than the templates above (labels set by hand), so the set
    is not only what this file's templates produce: benchmarks/data/judge_handwritten.jsonl."""
    for line in HANDWRITTEN.read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        out.add(r["lang"], r["form"], "handwritten", r["gold"], r["answer"], r["label"])


def main() -> None:
    rng = random.Random(13)
    out = Builder()
    for lang in LANGS:
        for _ in range(30):
            explicit_and_twists(rng, out, lang)
        for _ in range(24):
            conclusions(rng, out, lang)
        for _ in range(10):
            endings(rng, out, lang)
        for _ in range(8):
            closing_lines(rng, out, lang)
            number_words(rng, out, lang)
        for _ in range(4):
            fractions(rng, out, lang)
        for _ in range(2):
            conversions(rng, out, lang)
            nothing_to_keep(rng, out, lang)
    specials(out)
    handwritten(out)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in out.rows), encoding="utf-8")
    labels = [r["label"] for r in out.rows]
    print(f"{len(out.rows)} labelled responses ({labels.count('reject')} to reject) -> {OUT}")


if __name__ == "__main__":
    main()
