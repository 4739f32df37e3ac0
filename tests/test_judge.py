"""mathmind judge: rule extraction and equivalence, the labelled-set bar, hybrid/LLM through a real server, review."""

import csv
import json
from pathlib import Path

import pytest

from mathmind.judge.answers import final_answer, gold_value, judge_by_rule
from mathmind.distill.standin_teacher import StandInTeacher, TeacherConfig

KEY = "judge-test-key"
LABELLED = Path(__file__).parent.parent / "benchmarks" / "data" / "judge_labelled.jsonl"


@pytest.mark.parametrize("answer, gold, verdict, extracted", [
    ("The answer is $\\boxed{18}$.", "Janet sells 16 - 3 - 4 = 9 eggs... #### 18", "accept", "18"),
    ("The answer is 16.\n\nWait, I added wrong. The answer is 18.", "#### 18", "accept", "18"),      # self-correction wins
    ("The answer is 18. Check: 18 * 2 = 36 and 36 / 2 = 18; also 20 - 2 = 16.", "#### 18", "accept", "18"),  # checks do not
    ("答案是42元", "#### 42", "accept", "42"),                                  # number touching CJK
    ("所以答案是：1,234元。", "#### 1,234", "accept", "1234"),                     # thousands separators both sides
    ("答えは1234です", 1234, "accept", "1234"),                                 # MGSM answer_number
    ("Die Antwort lautet 1,5 Liter.", "1.5", "accept", "1.5"),                # decimal comma, not 1.2-style misreading
    ("The answer is 1,2.", "12", "reject", "1.2"),
    ("The answer is \\boxed{\\frac{3}{4}}", "0.75", "accept", "3/4"),
    ("Thus she pays \\$18.00 in total. The answer is \\$18.00", "#### 18", "accept", "18.00"),
    ("The discount is 25%. The answer is 25%.", "#### 25", "accept", "25\\%"),
    ("Therefore, **654**\n\nCheck: 424 + 230 = 654, and 654 / 8 is about 81.", "#### 654", "accept", "654"),
    ("<think>maybe 7? The answer is 7.</think>\n\nThe answer is 9.", "#### 9", "accept", "9"),
    ("答案是:B", "B", "accept", "B"),
    ("The answer is (C).", "B", "reject", "C"),
    ("It takes 1.5 hours. The answer is 1.5 hours.", "#### 90", "reject", "1.5"),
    ("Hence $f(x) = \\boxed{1 + x^2}$.", "The answer is $\\boxed{x^2+1}$", "accept", "1 + x^2"),
    ("", "#### 5", "reject", None),
    ("Janet ends up with 40 eggs.", "#### 40", "accept", "40"),               # a plain statement of one number
])
def test_rule_verdicts(answer, gold, verdict, extracted):
    result = judge_by_rule(answer, gold)
    assert (result.verdict, result.extracted) == (verdict, extracted), result


STEPS = "First, 12 x 3 = 36 apples. Then 36 + 139 = 175.\n\n"


@pytest.mark.parametrize("answer, gold, form, extracted", [
    ("首先，12×3=36。\n\n答：172", "#### 172", "phrase", "172"),
    ("首先，12×3=36。\n\n综上所述，最终结果为 57500。", "#### 57500", "conclusion", "57500"),
    ("首先，12×3=36。\n\n这样得到 175。我觉得就是这个。", "#### 175", "conclusion", "175"),
    (STEPS + "So the final amount is $1920.", "#### 1920", "conclusion", "1920"),
    (STEPS + "The total is $2,125.", "#### 2,125", "conclusion", "2125"),
    (STEPS + "Therefore, she spends $18.00 in all.", "#### 18", "conclusion", "18.00"),
    (STEPS + "180.0", "#### 180", "closing_line", "180.0"),
    (STEPS + "$18", "#### 18", "closing_line", "18"),
    (STEPS + "The answer is twelve.", "#### 12", "phrase_words", "12"),
    ("Die Antwort ist zweihundertfünfzig.", "#### 250", "phrase_words", "250"),
    ("答えは十二です。", 12, "phrase_words", "12"),
    ("Jibu ni kumi na mbili.", 12, "phrase_words", "12"),
    ("Итак, всего двенадцать рублей.", 12, "conclusion_words", "12"),
    ("<think>Maybe 7? The answer is 7.</think>\n\n" + STEPS + "So she has 175 apples in total.", "#### 175", "conclusion", "175"),
    ("The answer is 21/5.", "\\frac{21}{5}", "phrase", "21/5"),
    ("The answer is -3/4.", "-0.75", "phrase", "-3/4"),
    ("The answer is 1 1/2.", "\\frac{3}{2}", "phrase", "3/2"),
    ("উত্তর হল ১৭২।", 172, "phrase", "172"),                                    # Bengali digits
    ("Die Antwort lautet 1.920 Euro.", 1920, "phrase", "1.920"),                  # German thousands
    ("9 × 2 = 18.\n\nしたがって、彼女は1日に18ドル稼ぎます。", 18, "conclusion", "18"),
    ("所以一共需要3小时，即180分钟。", 3, "conclusion", "3"),                       # a conversion in the sentence
    ("Janet sells 16 - 3 - 4 = 9 eggs.\nShe makes 9 * 2 = $18 every day.", 18, "computation", "18"),
])
def test_forms_people_write_are_decided(answer, gold, form, extracted):
    result = judge_by_rule(answer, gold)
    assert (result.verdict, result.form, result.extracted) == ("accept", form, extracted), result


@pytest.mark.parametrize("answer, gold, reason", [
    ("Let me think. 12 apples... then we subtract", "#### 12", "no_final_answer"),              # reasoning that stops
    ("I'm sorry, but I can't help with that.", "#### 5", "no_final_answer"),                      # refusal
    (STEPS + "The answer is either 175 or 177.", "#### 175", "hedged"),
    (STEPS + "Ответ: 175 или 177.", "#### 175", "hedged"),
    ("The answer is 175.\n\nWait, I made a mistake. 36 + 141 = 177. So she has 177 apples.", "#### 175", "different"),
    ("The answer is 2 hours.\n\nThat is 120 minutes.", "#### 120", "different"),              # conversion after
    ("So it takes 2 hours in total. That is 120 minutes.", "#### 120", "different"),
    ("The answer is 0.25.", "#### 25", "different"),                                          # a percent was asked
    ("<think>\n9 x 2 = 18, so the answer is 18? Let me check 9 x", "#### 18", "truncated"),     # thinking never closed
    ("所以一共需要3小时，即180分钟。", "#### 180", "different"),
])
def test_answers_with_nothing_to_keep_are_rejected(answer, gold, reason):
    result = judge_by_rule(answer, gold)
    assert (result.verdict, result.reason) == ("reject", reason), result


def test_checks_remarks_and_conversions_after_the_answer_do_not_replace_it():
    for tail in ["Let me verify: 12 x 3 = 36.", "That's 5 more than last week.", "As a decimal, that is 0.25."]:
        for answer in ["The answer is 25%.", "So the discount is 25% in total."]:
            assert judge_by_rule(f"{answer}\n\n{tail}", "#### 25").verdict == "accept", (answer, tail)


def test_a_conclusion_naming_several_values_is_left_undecided():
    result = judge_by_rule("So the 3 friends pay 40 dollars each.", "#### 40")
    assert (result.verdict, result.reason) == ("undecided", "ambiguous_final_answer")


def test_truncated_answer_has_no_final_answer():
    assert judge_by_rule("The answer is 18 but let me re", "#### 18", "length").reason == "truncated"


def test_gold_forms():
    assert gold_value("blah\n#### 1,234") == "1234"
    assert gold_value("so $\\boxed{\\frac{1}{2}}$") == "1/2"
    assert gold_value(72) == "72" and gold_value(2.5) == "2.5" and gold_value("(D)") == "D"
    assert gold_value(None) is None


def test_bold_intermediate_results_do_not_commit():
    final = final_answer("Step 1: **5** boxes.\n\nStep 2: **30** pens.\n\nShe keeps 12.")
    assert (final.marker, final.value) == ("statement", "12")


def test_rule_mode_meets_the_bar_on_the_labelled_set():
    rows = [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines()]
    assert len(rows) >= 300 and len({r["lang"] for r in rows}) >= 11
    verdicts = [judge_by_rule(r["answer"], r["gold"], r["finish_reason"]).verdict for r in rows]
    accuracy = sum((v == "accept") == (r["label"] == "accept") for v, r in zip(verdicts, rows)) / len(rows)
    false_accepts = sum(v == "accept" and r["label"] == "reject" for v, r in zip(verdicts, rows)) / len(rows)
    assert accuracy >= 0.97 and false_accepts <= 0.015                 # undecided counts as not accepted
    assert verdicts.count("undecided") / len(rows) <= 0.05             # what hybrid would send to the LLM
    for lang in {r["lang"] for r in rows}:
        mine = [v for v, r in zip(verdicts, rows) if r["lang"] == lang]
        assert mine.count("undecided") / len(mine) <= 0.05, lang


def write(path, records):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


RECORDS = [
    {"id": "a#0", "question": "q1", "gold": "#### 18", "answer": "The answer is \\boxed{18}."},
    {"id": "b#0", "question": "q2", "gold": "#### 7", "answer": "The answer is 8."},
    {"id": "c#0", "question": "q3", "gold": "#### 40", "answer": "So the 3 friends pay 40 dollars each."},
    {"id": "d#0", "question": "q4", "gold": "#### 41", "answer": "So the 2 friends pay 42 dollars each."},
    {"id": "e#0", "question": "q5", "gold": "#### 5", "answer": "The answer is 5 [[fault:500 x1]]"},
]


@pytest.mark.parametrize("prompt", ["judge_seed002_zh", "judge_en"])
def test_hybrid_sends_only_undecided_to_the_llm_and_resumes(prompt, run_mathmind, tmp_path):
    src = write(tmp_path / "distill.jsonl", RECORDS)
    out = tmp_path / "judged.jsonl"
    with StandInTeacher(TeacherConfig(api_key=KEY)) as teacher:
        args = ["judge", "--in", str(src), "--out", str(out), "--mode", "hybrid", "--judge-prompt", prompt,
                "--base-url", teacher.url, "--no-progress", "--retry-base-delay", "0.05"]
        proc = run_mathmind(*args, env={"API_KEY": KEY})
        assert proc.returncode == 0, proc.stderr
        assert teacher.requests == 2                                     # c and d only
        judged = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
        assert [judged[f"{i}#0"]["verdict"] for i in "abcde"] == ["accept", "reject", "accept", "reject", "accept"]
        assert [judged[f"{i}#0"]["judge"] for i in "abcde"] == ["rule", "rule", "llm", "llm", "rule"]
        assert set(judged["a#0"]) >= {"verdict", "extracted", "gold_value", "judge", "reason", "form", "question"}
        again = run_mathmind(*args, env={"API_KEY": KEY})
        assert again.returncode == 0 and teacher.requests == 2           # the LLM replies were kept
        assert KEY not in proc.stderr + again.stderr + out.read_text()


def test_llm_mode_asks_about_every_record_and_retries(run_mathmind, tmp_path):
    src = write(tmp_path / "distill.jsonl", RECORDS)
    with StandInTeacher(TeacherConfig(api_key=KEY)) as teacher:
        proc = run_mathmind("judge", "--in", str(src), "--out", str(tmp_path / "j.jsonl"), "--mode", "llm",
                            "--base-url", teacher.url, "--no-progress", "--retry-base-delay", "0.05", env={"API_KEY": KEY})
        assert proc.returncode == 0, proc.stderr
        assert teacher.requests == 6                                     # 5 records, one 500 retried
    judged = [json.loads(line) for line in (tmp_path / "j.jsonl").read_text().splitlines()]
    assert {r["judge"] for r in judged} == {"llm"} and [r["verdict"] for r in judged][:4] == ["accept", "reject", "accept", "reject"]


def test_review_round_trip(run_mathmind, tmp_path):
    src = write(tmp_path / "distill.jsonl", RECORDS[:4])
    out, review = tmp_path / "judged.jsonl", tmp_path / "review.csv"
    assert run_mathmind("judge", "--in", str(src), "--out", str(out), "--review-out", str(review)).returncode == 0
    rows = list(csv.DictReader(review.open()))
    assert [r["id"] for r in rows] == ["c#0", "d#0"] and rows[0]["answer"].startswith("So the 3 friends")
    rows[0]["verdict"], rows[1]["verdict"] = "accept", ""
    with review.open("w", newline="") as f:
        writer = csv.DictWriter(f, rows[0].keys())
        writer.writeheader()
        writer.writerows(rows)
    proc = run_mathmind("judge", "--in", str(src), "--out", str(out), "--review-in", str(review))
    assert proc.returncode == 0, proc.stderr
    judged = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert (judged["c#0"]["verdict"], judged["c#0"]["judge"]) == ("accept", "human")
    assert judged["d#0"]["verdict"] == "undecided"
    rows[1]["verdict"] = "maybe"
    with review.open("w", newline="") as f:
        writer = csv.DictWriter(f, rows[0].keys())
        writer.writeheader()
        writer.writerows(rows)
    bad = run_mathmind("judge", "--in", str(src), "--out", str(out), "--review-in", str(review))
    assert bad.returncode == 2 and "review.csv:3: verdict must be accept or reject" in bad.stderr


def test_bad_input_names_the_line_and_keeps_the_old_output(run_mathmind, tmp_path):
    src = tmp_path / "distill.jsonl"
    src.write_text(json.dumps(RECORDS[0]) + "\n" + json.dumps({"id": "x", "answer": "1"}) + "\n")
    out = tmp_path / "judged.jsonl"
    out.write_text("previous\n")
    proc = run_mathmind("judge", "--in", str(src), "--out", str(out))
    assert proc.returncode == 2 and "distill.jsonl:2: missing field 'gold'" in proc.stderr
    assert "Traceback" not in proc.stderr and out.read_text() == "previous\n"


def test_review_csv_saved_by_excel_is_read(run_mathmind, tmp_path):
    src = write(tmp_path / "distill.jsonl", RECORDS[:4])
    review = tmp_path / "review.csv"
    review.write_bytes(b"\xef\xbb\xbfid,verdict\r\nc#0,accept\r\nd#0,reject\r\n")      # BOM and CRLF
    out = tmp_path / "judged.jsonl"
    proc = run_mathmind("judge", "--in", str(src), "--out", str(out), "--review-in", str(review))
    assert proc.returncode == 0, proc.stderr
    judged = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert [judged[i]["verdict"] for i in ("c#0", "d#0")] == ["accept", "reject"]


def test_out_under_a_file_is_reported_before_the_llm_is_asked(run_mathmind, tmp_path):
    src = write(tmp_path / "distill.jsonl", RECORDS)
    (tmp_path / "runs").write_text("not a folder")
    with StandInTeacher(TeacherConfig(api_key=KEY)) as teacher:
        proc = run_mathmind("judge", "--in", str(src), "--out", str(tmp_path / "runs" / "judged.jsonl"), "--mode", "llm",
                            "--base-url", teacher.url, "--no-progress", env={"API_KEY": KEY})
        assert teacher.requests == 0
    assert proc.returncode == 2 and "runs is a file, not a folder" in proc.stderr and "Traceback" not in proc.stderr
