import json
import re

from mathmind.demo import make_problems


def test_generated_problems_have_exact_answers_and_both_languages():
    problems = make_problems(40)
    assert len({p["question"] for p in problems}) == 40
    assert any(re.search(r"[\u4e00-\u9fff]", p["question"]) for p in problems)
    assert any(p["question"].startswith("Tom has") for p in problems)
    for p in problems:
        assert p["answer"] == f"#### {p['answer_number']}"
        if p["question"].startswith("Tom has"):
            a, b = map(int, re.findall(r"\d+", p["question"]))
            assert p["answer_number"] == a + b


def test_demo_runs_distill_for_real_and_resumes(run_mathmind, tmp_path):
    out = tmp_path / "demo"
    proc = run_mathmind("demo", "--out", str(out), "--train", "40", "--test", "10", "--wrong-share", "0.25")
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in (out / "distill.jsonl").read_text().splitlines()]
    assert len(records) == 40 and len((out / "questions" / "test.jsonl").read_text().splitlines()) == 10
    right = sum(f"\\boxed{{{r['gold'].split('#### ')[1]}}}" in r["answer"] for r in records)
    assert 20 <= right < 40  # the stand-in teacher answers from the table, a quarter of them wrong on purpose
    again = run_mathmind("demo", "--out", str(out), "--train", "40", "--test", "10")
    assert again.returncode == 0 and "40 already in" in again.stderr
