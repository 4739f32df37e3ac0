"""mathmind convert: the four formats, registration, PoT execution; and the PoT sandbox against hostile code."""

import json
import os
import stat
from pathlib import Path

import pytest

from mathmind.convert.pot import Limits, run_program

FAST = Limits(wall_s=5, cpu_s=3)


def test_plain_code_runs_and_prints():
    result = run_program("import sympy, math\nx = sympy.Symbol('x')\nprint(sympy.solve(x**2 - 4, x), math.sqrt(16))", FAST)
    assert (result.status, result.stdout) == ("ok", "[-2, 2] 4.0\n")


@pytest.mark.parametrize("name, code, status, says", [
    ("infinite loop", "while True: pass", "killed", ""),
    ("sleeps past the wall clock", "import time\ntime.sleep(60)", "timeout", ""),
    ("memory bomb", "a = []\nwhile True: a.append(' ' * 10**7)", "killed", "MemoryError"),
    ("fork bomb", "import os\nwhile True: os.fork()", "error", "os.fork is not allowed"),
    ("subprocess", "import subprocess\nsubprocess.run(['sh', '-c', 'echo hi'])", "error", "'subprocess' is not allowed"),
    ("socket connect", "import socket\nsocket.create_connection(('127.0.0.1', 22))", "error", "'socket' is not allowed"),
    ("http", "import urllib.request\nurllib.request.urlopen('http://127.0.0.1:9')", "error", "is not allowed"),
    ("ctypes", "import ctypes", "error", "'ctypes' is not allowed"),
    ("third-party import", "import numpy", "error", "'numpy' is not allowed"),
    ("remove outside", "import os\nos.remove('/etc/hostname')", "error", "outside the working directory"),
    ("flood of output", "print('x' * 10**7)", "output_limit", ""),
])
def test_hostile_code_is_contained(name, code, status, says, tmp_path):
    result = run_program(code, FAST)
    assert result.status == status, (name, result)
    assert says in result.stderr_tail


def test_write_outside_the_temp_dir_is_refused_and_inside_allowed(tmp_path):
    target = tmp_path / "pwned.txt"
    result = run_program(f"open({str(target)!r}, 'w').write('x')", FAST)
    assert result.status == "error" and "not allowed" in result.error_line and not target.exists()
    inside = run_program("open('scratch.txt', 'w').write('42'); print(open('scratch.txt').read())", FAST)
    assert (inside.status, inside.stdout) == ("ok", "42\n")


def pot_answer(code, stated):
    turns = [{"from": "human", "value": "345 * 123 = ?"}, {"from": "gpt", "value": "思考过程:两个整数相乘。"},
             {"from": "function_call", "value": f"```python\n{code}\n```\n"},
             {"from": "observation", "value": "运行以上代码,输出会是: ```99999```"},
             {"from": "gpt", "value": f"因此,345 * 123 = {stated}"}]
    return "```json\n" + json.dumps(turns, ensure_ascii=False) + "\n```"


def write(path, records):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def call_of(function_call):
    """The thinking and the JSON call of a function_call turn (LLaMA-Factory's thought words, then the JSON)."""
    thinking, _, call = function_call.rpartition("\n</think>\n\n")
    return thinking.removeprefix("<think>\n"), json.loads(call)


def test_pot_observation_is_what_the_code_printed(run_mathmind, tmp_path):
    src = write(tmp_path / "judged.jsonl", [
        {"id": "ok", "question": "345 * 123 = ?", "answer": pot_answer("print(345 * 123)", 42435), "verdict": "accept"},
        {"id": "lie", "question": "q", "answer": pot_answer("print(345 * 123)", 42436), "verdict": "accept"},
        {"id": "crash", "question": "q", "answer": pot_answer("print(1 / 0)", 1), "verdict": "accept"},
        {"id": "loop", "question": "q", "answer": pot_answer("while True: pass", 1), "verdict": "accept"},
        {"id": "prose", "question": "q", "answer": "Just 42435.", "verdict": "accept"},
        {"id": "wrong", "question": "q", "answer": pot_answer("print(1)", 1), "verdict": "reject"},
    ])
    out = tmp_path / "data" / "pot.json"
    proc = run_mathmind("convert", "--in", str(src), "--out", str(out), "--format", "pot", "--pot-timeout", "2")
    assert proc.returncode == 0, proc.stderr
    [sample] = json.loads(out.read_text())
    assert [t["from"] for t in sample["conversations"]] == ["human", "function_call", "observation", "gpt"]
    assert call_of(sample["conversations"][1]["value"]) == ("思考过程:两个整数相乘。",
                                                            {"name": "python", "arguments": {"code": "print(345 * 123)"}})
    assert sample["conversations"][2]["value"] == "42435"
    rejected = {r["id"]: r["reason"] for r in map(json.loads, (tmp_path / "data" / "pot.rejected.jsonl").read_text().splitlines())}
    assert rejected["lie"] == "pot_disagrees: the code printed 42435, the answer states 42436"
    assert rejected["crash"].startswith("pot_error: ZeroDivisionError")
    assert rejected["loop"].startswith(("pot_timeout", "pot_killed"))
    assert rejected["prose"].startswith("pot_unparseable") and "wrong" not in rejected


def seed000_answer():
    """Seed 000's own example, as the teacher answers the seed000_pot_zh prompt (the preset quotes it)."""
    from importlib import resources

    import yaml
    template = yaml.safe_load(resources.files("mathmind.recipes").joinpath("prompts", "seed000_pot_zh.yaml").read_text("utf-8"))["template"]
    return template[template.index("```json"):template.index("题目:")].strip()


SEED000_CODE = "def multiply(num1, num2):\n    return num1 * num2\n\nnum1 = 345\nnum2 = 123\n\nprint(f'{num1} * {num2} = {multiply(num1, num2)}')"


def test_seed000_pot_sample_round_trips_as_a_documented_tool_call(run_mathmind, tmp_path):
    src = write(tmp_path / "judged.jsonl", [{"id": "s", "question": "计算 345 * 123 = ?", "answer": seed000_answer(), "verdict": "accept"}])
    info = tmp_path / "data" / "dataset_info.json"
    proc = run_mathmind("convert", "--in", str(src), "--out", str(tmp_path / "data" / "pot.json"), "--format", "pot",
                        "--register", str(info), "--name", "math_pot")
    assert proc.returncode == 0, proc.stderr
    [sample] = json.loads((tmp_path / "data" / "pot.json").read_text())
    human, call, observation, answer = sample["conversations"]
    assert (human["from"], human["value"]) == ("human", "计算 345 * 123 = ?")
    thinking, function = call_of(call["value"])
    assert thinking == "首先给出思考过程:这是一道简单的数学运算题目,考察的是两个整数的乘法。直接调用Python代码计算即可。"
    assert function == {"name": "python", "arguments": {"code": SEED000_CODE}}
    assert (observation["from"], observation["value"]) == ("observation", "345 * 123 = 42435")   # what the code printed
    assert (answer["from"], answer["value"]) == ("gpt", "因此,345 * 123 = 42435")
    [tool] = json.loads(sample["tools"])                  # LLaMA-Factory's `tools` column: a JSON string
    assert tool["name"] == "python" and tool["parameters"]["required"] == ["code"] and sample["system"] == ""
    entry = json.loads(info.read_text())["math_pot"]
    assert entry["columns"] == {"messages": "conversations", "system": "system", "tools": "tools"}
    assert entry["tags"]["function_tag"] == "function_call" and entry["tags"]["observation_tag"] == "observation"


def test_an_empty_dataset_is_refused_and_not_registered(run_mathmind, tmp_path):
    src = write(tmp_path / "judged.jsonl", [{"id": "p", "question": "q", "answer": "Just 42.", "verdict": "accept"},
                                            {"id": "r", "question": "q", "answer": "42", "verdict": "reject"}])
    info = tmp_path / "dataset_info.json"
    info.write_text(json.dumps({"other": {"file_name": "other.json"}}))
    proc = run_mathmind("convert", "--in", str(src), "--out", str(tmp_path / "pot.json"), "--format", "pot",
                        "--register", str(info))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "no pot sample could be made (1 not accepted by the judge, 1 rejected" in proc.stderr
    assert "was not written and nothing was registered" in proc.stderr
    assert not (tmp_path / "pot.json").exists() and json.loads(info.read_text()) == {"other": {"file_name": "other.json"}}
    assert (tmp_path / "pot.rejected.jsonl").is_file()                    # the reasons are kept


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_written_files_follow_the_umask(run_mathmind, tmp_path, umask, mode):
    src = write(tmp_path / "judged.jsonl", [RECORD])
    old = os.umask(umask)                                  # inherited by the subprocess, as from a login shell
    try:
        proc = run_mathmind("convert", "--in", str(src), "--out", str(tmp_path / "d.json"), "--format", "sharegpt",
                            "--register", str(tmp_path / "dataset_info.json"))
    finally:
        os.umask(old)
    assert proc.returncode == 0, proc.stderr
    for name in ("d.json", "dataset_info.json"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode, name


RECORD = {"id": "a", "question": "What is 2 + 2?", "reasoning": "2 and 2 make 4.", "answer": "The answer is \\boxed{4}.",
          "gold": "#### 4", "verdict": "accept"}


def test_formats_and_registration_keep_other_entries(run_mathmind, tmp_path):
    src = write(tmp_path / "judged.jsonl", [RECORD, {**RECORD, "id": "b", "verdict": "reject"}])
    info = tmp_path / "data" / "dataset_info.json"
    info.parent.mkdir()
    info.write_text(json.dumps({"alpaca_en_demo": {"file_name": "alpaca_en_demo.json"}}))
    made = {}
    for fmt in ("openmind-cot", "sharegpt", "alpaca"):
        out = tmp_path / "data" / "sub" / f"{fmt}.json"
        proc = run_mathmind("convert", "--in", str(src), "--out", str(out), "--format", fmt, "--register", str(info))
        assert proc.returncode == 0, proc.stderr
        made[fmt] = json.loads(out.read_text())
        assert len(made[fmt]) == 1
    cot = made["openmind-cot"][0]
    assert cot["system"].startswith("Your role as an assistant involves thoroughly exploring questions")
    assert cot["conversations"][1]["value"] == ("<|begin_of_thought|>\n\n2 and 2 make 4.<|end_of_thought|>\n\n"
                                                "<|begin_of_solution|>\n\nThe answer is \\boxed{4}.<|end_of_solution|>")
    assert made["sharegpt"][0]["conversations"][1]["value"].startswith("<think>\n2 and 2 make 4.\n</think>\n\nThe answer")
    assert made["sharegpt"][0]["system"] == ""            # LLaMA-Factory reads a declared column without a fallback
    assert set(made["alpaca"][0]) == {"instruction", "input", "output", "system", "history"}
    entries = json.loads(info.read_text())
    assert set(entries) == {"alpaca_en_demo", "openmind-cot", "sharegpt", "alpaca"}
    assert entries["openmind-cot"]["local_path"] == str(info.parent.resolve())        # openMind: a directory
    assert entries["openmind-cot"]["file_name"] == "sub/openmind-cot.json"            # relative to dataset_dir
    assert entries["alpaca"]["columns"]["prompt"] == "instruction" and "tags" not in entries["alpaca"]
    assert entries["sharegpt"]["tags"]["assistant_tag"] == "assistant"


def test_bad_input_is_named_and_nothing_is_overwritten(run_mathmind, tmp_path):
    src = write(tmp_path / "judged.jsonl", [RECORD, {"id": "x", "question": "q", "answer": "a"}])
    out = tmp_path / "d.json"
    out.write_text("[]")
    proc = run_mathmind("convert", "--in", str(src), "--out", str(out), "--format", "sharegpt")
    assert proc.returncode == 2 and "judged.jsonl:2: no `verdict` field" in proc.stderr and out.read_text() == "[]"
    info = tmp_path / "dataset_info.json"
    info.write_text("{broken")
    proc = run_mathmind("convert", "--in", str(src), "--out", str(out), "--format", "sharegpt", "--keep", "all",
                        "--register", str(info))
    assert proc.returncode == 2 and "dataset_info.json: not valid JSON" in proc.stderr and info.read_text() == "{broken"


OPENMIND_BIN = Path(__file__).resolve().parents[1] / ".venv-openmind" / "bin"


@pytest.mark.skipif(not (OPENMIND_BIN / "openmind-cli").exists() and not os.environ.get("MATHMIND_REQUIRE_OPENMIND"),
                    reason="openMind's side environment is not built (make openmind-venv)")
def test_openmind_trains_the_converted_formats_and_pot_is_refused(run_mathmind, tmp_path, tiny_model):
    """openMind 1.0 reads the same dataset_info entries: the three user/assistant formats train together."""
    src = write(tmp_path / "judged.jsonl", [{**RECORD, "id": str(i), "question": f"What is {i} + {i}?"} for i in range(4)])
    for fmt in ("openmind-cot", "sharegpt", "alpaca"):
        proc = run_mathmind("convert", "--in", str(src), "--out", str(tmp_path / "data" / f"{fmt}.json"), "--format", fmt,
                            "--register", str(tmp_path / "data" / "dataset_info.json"))
        assert proc.returncode == 0, proc.stderr
    pot = write(tmp_path / "pot.jsonl", [{"id": "p", "question": "345 * 123 = ?", "answer": pot_answer("print(345 * 123)", 42435),
                                          "verdict": "accept"}])
    assert run_mathmind("convert", "--in", str(pot), "--out", str(tmp_path / "data" / "pot.json"), "--format", "pot",
                        "--register", str(tmp_path / "data" / "dataset_info.json")).returncode == 0
    common = ["train", "recipes/tiny/full_sft.yaml", "--launcher", "openmind", "--hardware", "cpu:1", f"model_name_or_path={tiny_model}",
              f"custom_dataset_info={tmp_path / 'data' / 'dataset_info.json'}", "deepspeed=null", "max_steps=2", "cutoff_len=1024"]
    env = {"PATH": f"{OPENMIND_BIN}:{os.environ['PATH']}"}
    out = tmp_path / "saves" / "om"
    proc = run_mathmind(*common, "dataset=openmind-cot,sharegpt,alpaca", f"output_dir={out}", env=env, cwd=str(tmp_path), timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    assert json.loads((out / "trainer_state.json").read_text())["global_step"] == 2
    refused = run_mathmind(*common, "dataset=pot", f"output_dir={tmp_path / 'saves' / 'om_pot'}", env=env, cwd=str(tmp_path))
    assert refused.returncode == 2 and "which openMind 1.0 cannot train" in refused.stderr
