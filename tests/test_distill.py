"""mathmind distill against a real OpenAI-compatible server on 127.0.0.1, through the real openai SDK."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from mathmind.distill.prompts import load_prompt, preset_names
from mathmind.distill.standin_teacher import StandInTeacher, TeacherConfig
from mathmind.distill.teacher import AdaptiveLimit, split_reasoning
from mathmind.errors import UserError

KEY = "sk-test-DO-NOT-LEAK-7f3a9"


def write_questions(path, questions):
    path.write_text("".join(json.dumps({"question": q, "answer": f"#### {i}"}) + "\n" for i, q in enumerate(questions)))
    return path


def read(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def distill_args(teacher, questions, out, *extra):
    return ["distill", "--questions", str(questions), "--out", str(out), "--base-url", teacher.url,
            "--retry-base-delay", "0.05", "--timeout", "2", "--no-progress", *extra]


@pytest.fixture
def teacher():
    with StandInTeacher(TeacherConfig(latency_s=0.02, api_key=KEY)) as server:
        yield server


def test_faults_are_retried_and_every_answer_lands_once(teacher, run_mathmind, tmp_path):
    questions = write_questions(tmp_path / "q.jsonl", [
        "What is 2 + 3? [[fault:429 x1]]", "What is 4 + 4? [[fault:500 x2]]", "What is 1 + 1? [[fault:badjson x1]]",
        "What is 5 + 5? [[fault:empty x1]]", "What is 6 + 1? [[fault:length x1]]", "What is 7 + 2? [[fault:hang x1]]",
        "What is 3 + 3? [[fault:think x1]]", "What is 9 + 9?"])
    out = tmp_path / "out.jsonl"
    proc = run_mathmind(*distill_args(teacher, questions, out), env={"API_KEY": KEY})
    assert proc.returncode == 0, proc.stderr
    records = {r["id"]: r for r in read(out)}
    assert sorted(records) == [f"q.jsonl#{i}#0" for i in range(8)]
    assert [records[f"q.jsonl#{i}#0"]["attempts"] for i in range(8)] == [2, 3, 2, 2, 2, 2, 1, 1]
    for record in records.values():
        assert set(record) == {"id", "question", "gold", "prompt", "reasoning", "answer", "finish_reason", "usage",
                               "model", "latency_s", "attempts", "source"}
        assert record["answer"].startswith("We compute") and record["reasoning"].startswith("Okay")
        assert record["finish_reason"] == "stop" and record["usage"]["reasoning_tokens"] > 0
    inline = records["q.jsonl#6#0"]
    assert "<think>" not in inline["answer"] and "</think>" not in inline["reasoning"]
    assert records["q.jsonl#0#0"]["gold"] == "#### 0" and records["q.jsonl#0#0"]["prompt"] == "step_by_step"
    assert "retries: 7" in proc.stderr and "'500': 2" in proc.stderr and "'timeout': 1" in proc.stderr
    assert not (tmp_path / "out.errors.jsonl").exists()


def test_failures_go_to_errors_file_and_a_rerun_retries_only_them(teacher, run_mathmind, tmp_path):
    questions = write_questions(tmp_path / "q.jsonl", ["What is 1 + 2?", "What is 2 + 2? [[fault:500 x3]]"])
    out = tmp_path / "out.jsonl"
    first = run_mathmind(*distill_args(teacher, questions, out, "--max-retries", "1"), env={"API_KEY": KEY})
    assert first.returncode == 1
    assert [r["id"] for r in read(out)] == ["q.jsonl#0#0"]
    (error,) = read(tmp_path / "out.errors.jsonl")
    assert error["id"] == "q.jsonl#1#0" and error["reason"] == "500 after 2 attempts"
    asked_before = teacher.requests
    second = run_mathmind(*distill_args(teacher, questions, out, "--max-retries", "1"), env={"API_KEY": KEY})
    assert second.returncode == 0, second.stderr
    assert teacher.requests - asked_before == 2  # attempt 3 fails, attempt 4 succeeds; question 0 not asked again
    assert sorted(r["id"] for r in read(out)) == ["q.jsonl#0#0", "q.jsonl#1#0"]
    assert not (tmp_path / "out.errors.jsonl").exists()


def test_refused_key_stops_the_run_and_is_never_shown(teacher, run_mathmind, tmp_path):
    questions = write_questions(tmp_path / "q.jsonl", ["What is 1 + 2?"] * 5)
    out = tmp_path / "out.jsonl"
    wrong = "sk-wrong-key-SECRET-123"
    proc = run_mathmind(*distill_args(teacher, questions, out), env={"API_KEY": wrong})
    assert proc.returncode == 2
    assert "the teacher refused the request: 401" in proc.stderr and "Incorrect API key" in proc.stderr
    assert "Traceback" not in proc.stderr
    for text in [proc.stdout, proc.stderr, *(p.read_text() for p in tmp_path.iterdir() if p.is_file())]:
        assert wrong not in text


def test_no_key_is_a_clear_error(run_mathmind, tmp_path):
    questions = write_questions(tmp_path / "q.jsonl", ["What is 1 + 2?"])
    env = {k: v for k, v in os.environ.items() if k not in ("API_KEY", "OPENAI_API_KEY")}
    proc = subprocess.run([sys.executable, "-m", "mathmind", "distill", "--questions", str(questions), "--out",
                           str(tmp_path / "o.jsonl")], env=env, capture_output=True, text=True)
    assert proc.returncode == 2 and "no API key: set API_KEY or OPENAI_API_KEY" in proc.stderr


def test_sigkill_mid_run_then_resume_asks_only_for_what_was_missing(run_mathmind, tmp_path):
    n = 40
    questions = write_questions(tmp_path / "q.jsonl", [f"What is {i} + 1?" for i in range(n)])
    out = tmp_path / "out.jsonl"
    with StandInTeacher(TeacherConfig(latency_s=0.3)) as teacher:
        args = [sys.executable, "-m", "mathmind", *distill_args(teacher, questions, out, "--concurrency", "4")]
        proc = subprocess.Popen(args, env={**os.environ, "API_KEY": "k"}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (not out.exists() or len(out.read_text().splitlines()) < 10):
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        # A crash in the middle of a write leaves a torn last line: simulate one on top of the kill.
        with out.open("a") as f:
            f.write('{"id": "q.jsonl#39#0", "question": "What is 39 + 1?", "rea')
        kept = len(out.read_text().splitlines()) - 1
        assert 10 <= kept < n
        asked_before = teacher.requests
        resumed = run_mathmind(*distill_args(teacher, questions, out, "--concurrency", "4"), env={"API_KEY": "k"})
        assert resumed.returncode == 0, resumed.stderr
        assert teacher.requests - asked_before == n - kept
    ids = [r["id"] for r in read(out)]
    assert len(ids) == len(set(ids)) == n
    assert set(ids) == {f"q.jsonl#{i}#0" for i in range(n)}
    assert (tmp_path / "out.jsonl.torn").read_text().startswith('{"id": "q.jsonl#39#0"')


def test_samples_per_question_stream_mode_and_limit(teacher, run_mathmind, tmp_path):
    questions = write_questions(tmp_path / "q.jsonl", [f"What is {i} + 2? [[fault:think x1]]" if i == 1 else f"What is {i} + 2?"
                                                       for i in range(5)])
    out = tmp_path / "out.jsonl"
    proc = run_mathmind(*distill_args(teacher, questions, out, "--stream", "--limit", "3", "--samples-per-question", "2"),
                        env={"API_KEY": KEY})
    assert proc.returncode == 0, proc.stderr
    records = read(out)
    assert sorted(r["id"] for r in records) == sorted(f"q.jsonl#{i}#{s}" for i in range(3) for s in range(2))
    assert all(r["reasoning"].startswith("Okay") and "\\boxed{" in r["answer"] and "<think>" not in r["answer"] for r in records)
    assert all(r["usage"]["completion_tokens"] > 0 for r in records)


@pytest.mark.parametrize("content, error", [
    ('{"question": "a"}\n{"question": "b"\n', r"q.jsonl:2: not valid JSON"),
    ('{"question": "a"}\n{"prompt": "b"}\n', r"q.jsonl:2: field 'question' is missing or empty \(fields here: prompt"),
    ('', r"no questions found"),
])
def test_bad_input_is_named_and_nothing_is_asked_or_touched(teacher, run_mathmind, tmp_path, content, error):
    questions = tmp_path / "q.jsonl"
    questions.write_text(content)
    out = tmp_path / "out.jsonl"
    out.write_text('{"id": "earlier", "answer": "kept"}\n')
    proc = run_mathmind(*distill_args(teacher, questions, out), env={"API_KEY": KEY})
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert __import__("re").search(error, proc.stderr), proc.stderr
    assert teacher.requests == 0
    assert out.read_text() == '{"id": "earlier", "answer": "kept"}\n'


def test_csv_json_and_folder_sources_with_field_mapping(teacher, run_mathmind, tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "a.csv").write_text("problem,answer_number\nWhat is 1 + 1?,2\nWhat is 2 + 2?,4\n")
    (folder / "b.json").write_text(json.dumps([{"problem": "What is 3 + 3?", "answer_number": 6}]))
    out = tmp_path / "out.jsonl"
    proc = run_mathmind(*distill_args(teacher, folder, out, "--question-field", "problem"), env={"API_KEY": KEY})
    assert proc.returncode == 0, proc.stderr
    records = {r["id"]: r for r in read(out)}
    assert sorted(records) == ["data/a.csv#0#0", "data/a.csv#1#0", "data/b.json#0#0"]
    assert records["data/b.json#0#0"]["gold"] == 6 and records["data/a.csv#1#0"]["gold"] == "4"


def test_hub_source_offline_fails_fast_with_a_hint(run_mathmind, tmp_path):
    started = time.monotonic()
    proc = run_mathmind("distill", "--questions", "modelscope:modelscope/gsm8k?subset=main&split=train",
                        "--out", str(tmp_path / "o.jsonl"), env={"API_KEY": "k", "HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 2 and time.monotonic() - started < 15
    assert "point --questions at a local .jsonl" in proc.stderr


def test_every_preset_loads_and_renders():
    assert {"step_by_step", "seed002_dad_zh", "seed000_pot_zh", "seed003_answer_zh", "seed003_evaluate_zh"} <= set(preset_names())
    assert "赛西" in load_prompt("seed002_dad_zh").render({"question": "1+1=?"}, "x") and \
        "1+1=?" in load_prompt("seed002_dad_zh").render({"question": "1+1=?"}, "x")
    pot = load_prompt("seed000_pot_zh").render({"question": "计算 2*3"}, "x")
    assert "print(f'{num1} * {num2}" in pot and pot.endswith("计算 2*3")  # code braces stay as written
    answer = load_prompt("seed003_answer_zh").render({"problem": "P", "question": "Q", "options": ["x", "y"]}, "x")
    assert "A. x\nB. y" in answer
    with pytest.raises(UserError, match="line 3: field 'answer' is missing"):
        load_prompt("seed003_evaluate_zh").render({"problem": "P", "question": "Q", "options": ["x"]}, "line 3")


def test_user_prompt_file(tmp_path):
    path = tmp_path / "mine.txt"
    path.write_text("Answer briefly: {question}")
    assert load_prompt(str(path)).render({"question": "2+2"}, "x") == "Answer briefly: 2+2"
    path.write_text("no placeholder")
    with pytest.raises(UserError, match=r"needs a \{question\} placeholder"):
        load_prompt(str(path))
    with pytest.raises(UserError, match="no such file and no such preset"):
        load_prompt("nope")


def test_split_reasoning_forms():
    assert split_reasoning("<think>\nabc\n</think>\n\nThe answer is 4.", None) == ("abc", "The answer is 4.")
    assert split_reasoning("abc</think>The answer is 4.", None) == ("abc", "The answer is 4.")  # opening tag omitted
    assert split_reasoning("The answer is 4.", "r") == ("r", "The answer is 4.")
    assert split_reasoning("The answer is 4.", None) == ("", "The answer is 4.")


def test_adaptive_limit_ignores_sporadic_429_halves_on_sustained_and_recovers():
    import asyncio

    async def scenario():
        limit = AdaptiveLimit(16)
        for _ in range(5):  # 1 in 10 answers throttled: sporadic, no cut
            limit.throttled()
            for _ in range(9):
                limit.succeeded()
        assert limit.limit == 16
        for _ in range(10):  # 10 of the last 50: sustained
            limit.throttled()
        assert (limit.limit, limit.cuts) == (8, 1)
        for _ in range(10):  # within the same second: no second cut
            limit.throttled()
        assert limit.limit == 8
        for _ in range(2 + 2 + 2 + 2 + 3 + 3 + 3 + 3):  # one slot per limit // 4 successes, 8 -> 16
            limit.succeeded()
        assert limit.limit == 16
        limit.succeeded()
        assert limit.limit == 16

    asyncio.run(scenario())


def test_sustained_429s_lower_concurrency_in_a_real_run(run_mathmind, tmp_path):
    questions = write_questions(tmp_path / "q.jsonl", [f"What is {i} + 1? [[fault:429 x1]]" for i in range(24)])
    with StandInTeacher(TeacherConfig(latency_s=0.05)) as teacher:
        proc = run_mathmind(*distill_args(teacher, questions, tmp_path / "out.jsonl", "--concurrency", "24"),
                            env={"API_KEY": "k"})
        assert proc.returncode == 0, proc.stderr
        assert "'429': 24" in proc.stderr
        assert "concurrency cut 1 time(s) for 429s" in proc.stderr
    assert len(read(tmp_path / "out.jsonl")) == 24


@pytest.mark.parametrize("name, content, error", [
    ("q.parquet", b"PAR1 this is not really parquet", r"q\.parquet: not a readable parquet file"),
    ("q.jsonl", b'{"question": "a"}\n{"question": "\xff"}\n', r"q\.jsonl:2: not UTF-8 \(byte 0xff at byte offset 32"),
    ("q.csv", b"question\r\n\xe9t\xe9\r\n", r"q\.csv:2: not UTF-8"),
])
def test_unreadable_files_are_named_without_a_traceback(teacher, run_mathmind, tmp_path, name, content, error):
    questions = tmp_path / name
    questions.write_bytes(content)
    proc = run_mathmind(*distill_args(teacher, questions, tmp_path / "out.jsonl"), env={"API_KEY": KEY})
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert __import__("re").search(error, proc.stderr), proc.stderr
    assert teacher.requests == 0


def test_bom_crlf_files_and_a_5mb_csv_question_are_read(teacher, run_mathmind, tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "a.jsonl").write_bytes(b'\xef\xbb\xbf{"question": "What is 1 + 1?", "answer": "#### 2"}\r\n')
    (folder / "b.csv").write_bytes(b'\xef\xbb\xbfquestion,answer\r\nWhat is 2 + 2?,4\r\n"' + b"What is 3 + 3? " * 350_000 + b'",6\r\n')
    (folder / "c.json").write_bytes(b'\xef\xbb\xbf[{"question": "What is 4 + 4?", "answer": 8}]\r\n')
    out = tmp_path / "out.jsonl"
    proc = run_mathmind(*distill_args(teacher, folder, out), env={"API_KEY": KEY})
    assert proc.returncode == 0, proc.stderr
    records = {r["id"]: r for r in read(out)}
    assert sorted(records) == ["data/a.jsonl#0#0", "data/b.csv#0#0", "data/b.csv#1#0", "data/c.json#0#0"]
    assert records["data/b.csv#0#0"]["gold"] == "4" and len(records["data/b.csv#1#0"]["question"]) > 5_000_000


def test_out_under_a_file_is_reported_before_any_request(teacher, run_mathmind, tmp_path):
    questions = write_questions(tmp_path / "q.jsonl", ["What is 1 + 2?"])
    (tmp_path / "runs").write_text("not a folder")
    proc = run_mathmind(*distill_args(teacher, questions, tmp_path / "runs" / "out.jsonl"), env={"API_KEY": KEY})
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "--out" in proc.stderr and "runs is a file, not a folder" in proc.stderr
    assert teacher.requests == 0


def test_free_checks_come_before_the_api_key_and_are_all_reported(tmp_path):
    (tmp_path / "runs").write_text("not a folder")
    env = {k: v for k, v in os.environ.items() if k not in ("API_KEY", "OPENAI_API_KEY")}
    proc = subprocess.run([sys.executable, "-m", "mathmind", "distill", "--questions", str(tmp_path / "nonexist.jsonl"),
                           "--out", str(tmp_path / "runs" / "o.jsonl"), "--prompt", "no_such_prompt"],
                          env=env, capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "error: 4 problems:" in proc.stderr.splitlines()[0], proc.stderr
    for part in ("no_such_prompt", "runs is a file, not a folder", "nonexist.jsonl: no such file or folder", "no API key"):
        assert part in proc.stderr, proc.stderr
    assert proc.stderr.index("nonexist.jsonl") < proc.stderr.index("no API key")
