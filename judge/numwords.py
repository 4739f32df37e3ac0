"""Numbers written in words, in English and the MGSM languages: a small table, enough for final answers.

Western languages add up words (`twenty-five`, `cent vingt`, `kumi na mbili`) and multiply by `hundred`
/ `thousand`; Chinese, Japanese and Thai numerals are read positionally (`一百七十二`, `สิบสอง`).
Bengali and Telugu have a word for each number, so their table holds 0-20 and the tens. Only a run of
number words at the start of a committed answer is read, never words anywhere in a text.
"""

from __future__ import annotations

import re

# word -> value; "x100"/"x1000" multiply what came before.
WORDS: dict[str, int | str] = {}


def _add(values: dict[int | str, str]) -> None:
    for value, words in values.items():
        for word in words.split():
            WORDS[word] = value


_add({0: "zero", 1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight",
      9: "nine", 10: "ten", 11: "eleven", 12: "twelve", 13: "thirteen", 14: "fourteen", 15: "fifteen",
      16: "sixteen", 17: "seventeen", 18: "eighteen", 19: "nineteen", 20: "twenty", 30: "thirty", 40: "forty fourty",
      50: "fifty", 60: "sixty", 70: "seventy", 80: "eighty", 90: "ninety", "x100": "hundred", "x1000": "thousand"})
_add({0: "null", 1: "eins ein eine einen", 2: "zwei", 3: "drei", 4: "vier", 5: "fünf", 6: "sechs", 7: "sieben",
      8: "acht", 9: "neun", 10: "zehn", 11: "elf", 12: "zwölf", 13: "dreizehn", 14: "vierzehn", 15: "fünfzehn",
      16: "sechzehn", 17: "siebzehn", 18: "achtzehn", 19: "neunzehn", 20: "zwanzig", 30: "dreißig", 40: "vierzig",
      50: "fünfzig", 60: "sechzig", 70: "siebzig", 80: "achtzig", 90: "neunzig", "x100": "hundert einhundert",
      "x1000": "tausend eintausend"})
_add({0: "zéro", 1: "un une", 2: "deux", 3: "trois", 4: "quatre", 5: "cinq", 6: "six", 7: "sept", 8: "huit",
      9: "neuf", 10: "dix", 11: "onze", 12: "douze", 13: "treize", 14: "quatorze", 15: "quinze", 16: "seize",
      20: "vingt", 30: "trente", 40: "quarante", 50: "cinquante", 60: "soixante", 80: "quatrevingt quatrevingts",
      "x100": "cent cents", "x1000": "mille"})
_add({0: "cero", 1: "uno una un", 2: "dos", 3: "tres", 4: "cuatro", 5: "cinco", 6: "seis", 7: "siete", 8: "ocho",
      9: "nueve", 10: "diez", 11: "once", 12: "doce", 13: "trece", 14: "catorce", 15: "quince", 16: "dieciséis",
      17: "diecisiete", 18: "dieciocho", 19: "diecinueve", 20: "veinte", 21: "veintiuno", 22: "veintidós",
      23: "veintitrés", 24: "veinticuatro", 25: "veinticinco", 26: "veintiséis", 27: "veintisiete", 28: "veintiocho",
      29: "veintinueve", 30: "treinta", 40: "cuarenta", 50: "cincuenta", 60: "sesenta", 70: "setenta", 80: "ochenta",
      90: "noventa", 100: "cien ciento", 200: "doscientos", 300: "trescientos", 500: "quinientos", "x1000": "mil"})
_add({0: "ноль", 1: "один одна одно", 2: "два две", 3: "три", 4: "четыре", 5: "пять", 6: "шесть", 7: "семь",
      8: "восемь", 9: "девять", 10: "десять", 11: "одиннадцать", 12: "двенадцать", 13: "тринадцать",
      14: "четырнадцать", 15: "пятнадцать", 16: "шестнадцать", 17: "семнадцать", 18: "восемнадцать",
      19: "девятнадцать", 20: "двадцать", 30: "тридцать", 40: "сорок", 50: "пятьдесят", 60: "шестьдесят",
      70: "семьдесят", 80: "восемьдесят", 90: "девяносто", 100: "сто", 200: "двести", 300: "триста",
      400: "четыреста", 500: "пятьсот", "x1000": "тысяча тысячи тысяч"})
_add({1: "moja", 2: "mbili", 3: "tatu", 4: "nne", 5: "tano", 6: "sita", 7: "saba", 8: "nane", 9: "tisa",
      10: "kumi", 20: "ishirini", 30: "thelathini", 40: "arobaini", 50: "hamsini", 60: "sitini", 70: "sabini",
      80: "themanini", 90: "tisini", "x100": "mia", "x1000": "elfu"})
_add({0: "শূন্য", 1: "এক", 2: "দুই", 3: "তিন", 4: "চার", 5: "পাঁচ", 6: "ছয়", 7: "সাত", 8: "আট", 9: "নয়",
      10: "দশ", 11: "এগারো", 12: "বারো", 13: "তেরো", 14: "চোদ্দ", 15: "পনেরো", 16: "ষোলো", 17: "সতেরো",
      18: "আঠারো", 19: "উনিশ", 20: "বিশ", 30: "ত্রিশ", 40: "চল্লিশ", 50: "পঞ্চাশ", 60: "ষাট", 70: "সত্তর",
      80: "আশি", 90: "নব্বই", "x100": "শত", "x1000": "হাজার"})
_add({0: "సున్నా", 1: "ఒకటి", 2: "రెండు", 3: "మూడు", 4: "నాలుగు", 5: "ఐదు", 6: "ఆరు", 7: "ఏడు", 8: "ఎనిమిది",
      9: "తొమ్మిది", 10: "పది", 11: "పదకొండు", 12: "పన్నెండు", 13: "పదమూడు", 14: "పద్నాలుగు", 15: "పదిహేను",
      16: "పదహారు", 17: "పదిహేడు", 18: "పద్దెనిమిది", 19: "పంతొమ్మిది", 20: "ఇరవై", 30: "ముప్పై", 40: "నలభై",
      50: "యాభై", 100: "వంద", "x1000": "వేలు వెయ్యి"})

JOINERS = {"and", "und", "et", "y", "na"}
ARTICLES = {"a", "an", "the"}
SWAHILI_UNITS = {"mia", "elfu"}
# A word: letters and the combining vowel signs of Bengali and Telugu (which \\w does not match).
WORD_RUN = re.compile(r"[^\s\d.,:;!?()*$।。，、]+")

# Positional numerals: digit symbols and multipliers (Chinese/Japanese, Thai).
CJK_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "兩": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
              "八": 8, "九": 9}
CJK_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000, "萬": 10000}
CJK_RUN = re.compile("[零〇一二两兩三四五六七八九十百千万萬]+")
THAI_DIGITS = {"ศูนย์": 0, "หนึ่ง": 1, "เอ็ด": 1, "สอง": 2, "ยี่": 2, "สาม": 3, "สี่": 4, "ห้า": 5, "หก": 6,
               "เจ็ด": 7, "แปด": 8, "เก้า": 9}
THAI_UNITS = {"สิบ": 10, "ร้อย": 100, "พัน": 1000, "หมื่น": 10000}
THAI_TOKEN = re.compile("|".join(sorted([*THAI_DIGITS, *THAI_UNITS], key=len, reverse=True)))


def _positional(tokens: list[str], digits: dict[str, int], units: dict[str, int]) -> int | None:
    total = section = pending = 0
    for token in tokens:
        if token in digits:
            pending = digits[token]
        elif units[token] >= 10000:
            total += (section + pending or 1) * units[token]
            section = pending = 0
        else:
            section += (pending or 1) * units[token]
            pending = 0
    return total + section + pending if tokens else None


def _western(words: list[str]) -> int | None:
    total = current = 0
    seen = False
    unit_first = 0        # Swahili says the unit first: mia mbili = 200, elfu tatu = 3000
    for word in words:
        if word in JOINERS or (not seen and word in ARTICLES):
            continue
        for part in [word] if word in WORDS else word.split("-"):
            value = WORDS.get(part)
            if value is None:
                # German writes 25 as one word: fünfundzwanzig.
                ones, und, tens = part.partition("und")
                if not (und and ones in WORDS and tens in WORDS):
                    return total + current if seen else None
                value = int(WORDS[ones]) + int(WORDS[tens])
            seen = True
            if value == "x100":
                current = (current or 1) * 100
                unit_first = 100 if word in SWAHILI_UNITS else 0
            elif value == "x1000":
                total, current = (total + (current or 1)) * 1000, 0
                unit_first = 1000 if word in SWAHILI_UNITS else 0
            elif unit_first and int(value) < 10:
                total, current = (total, current + (int(value) - 1) * 100) if unit_first == 100 else (total + (int(value) - 1) * 1000, current)
                unit_first = 0
            else:
                current += int(value)
                unit_first = 0
    return total + current if seen else None


def _split_compounds(text: str) -> str:
    """German writes 250 as one word (zweihundertfünfzig), French 80 with a hyphen (quatre-vingt)."""
    text = text.replace("quatre-vingt", "quatrevingt")
    return re.sub(r"(?<=[a-zäöüß])(hundert|tausend)|(?<=[a-zäöüß])(?<!h)(und)(?=[a-zäöüß])",
                  lambda m: f" {m.group(0)} ", text)


def words_value(text: str) -> str | None:
    """The number that a run of number words at the start of `text` spells, as digits; else None."""
    text = text.strip().lstrip("*$:：( ")
    cjk = CJK_RUN.match(text)
    if cjk:
        return str(_positional(list(cjk.group(0)), CJK_DIGITS, CJK_UNITS))
    thai, pos = [], 0
    while (m := THAI_TOKEN.match(text, pos)) is not None:
        thai.append(m.group(0))
        pos = m.end()
    if thai:
        return str(_positional(thai, THAI_DIGITS, THAI_UNITS))
    words = WORD_RUN.findall(_split_compounds(text[:80].lower()))
    value = _western(words[:10])
    return None if value is None else str(value)


def _is_number_word(word: str) -> bool:
    if word in WORDS:
        return True
    ones, und, tens = word.partition("und")
    return all(part in WORDS for part in word.split("-")) or bool(und and ones in WORDS and tens in WORDS)


THAI_RUN = re.compile(f"(?:{THAI_TOKEN.pattern})+")


def last_words_value(text: str) -> str | None:
    """The number spelled by the last run of number words anywhere in `text` ("So she has twelve apples",
    "所以她一共有十二个苹果"); for a concluding sentence, whose result comes last."""
    runs = [m.start() for m in CJK_RUN.finditer(text)] + [m.start() for m in THAI_RUN.finditer(text)]
    lowered = _split_compounds(text.lower())
    words = list(WORD_RUN.finditer(lowered))
    start = None
    for i, m in enumerate(words):
        if _is_number_word(m.group(0)) and m.group(0) not in ARTICLES:
            previous = words[i - 1].group(0) if i else ""
            if not (i and (_is_number_word(previous) or previous in JOINERS)):
                start = m.start()
    if start is not None:
        runs.append(start)
    if not runs:
        return None
    return words_value(lowered[max(runs):] if max(runs) == start else text[max(runs):])
