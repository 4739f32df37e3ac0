"""mathmind eval and report: real lm-eval runs on CPU with a tiny local model and local data, and one served model."""

import json
import os
import time

import pytest

from mathmind.distill.standin_teacher import StandInTeacher, TeacherConfig
from mathmind.eval.tasks import MGSM_LANGS, expand_tasks
from mathmind.hardware.detect import eval_device, simulate


def test_task_names_mean_exactly_the_seed_sets():
    tasks = expand_tasks(["gsm8k", "mgsm_direct", "mgsm_cot_native", "mmlu", "mgsm_direct_zh"])
    assert tasks == (["gsm8k"] + [f"mgsm_direct_{l}" for l in MGSM_LANGS] + [f"mgsm_native_cot_{l}" for l in MGSM_LANGS]
                     + ["mmlu"])
    assert len(tasks) == 24 and not any("en_cot" in t or "spanish_bench" in t for t in tasks)


def test_eval_device_never_a_bare_npu():
    assert eval_device("auto", simulate("npu:8")) == "npu:0"
    assert eval_device("npu", None) == "npu:0" and eval_device("npu:3", None) == "npu:3"
    assert eval_device("auto", simulate("cuda:2")) == "cuda:0" and eval_device("auto", simulate("cpu:2")) == "cpu"


def write_jsonl(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """gsm8k, MGSM (11 languages) and MMLU (57 subjects) in mathmind's --data-dir layout, a few documents each."""
    from lm_eval.tasks import TaskManager
    from mathmind.eval.tasks import mmlu_subjects

    root = tmp_path_factory.mktemp("evaldata")
    gsm = [{"question": f"Tom has {a} apples and buys {b} more. How many apples?", "answer": f"{a} + {b} = {a + b}\n#### {a + b}"}
           for a, b in [(2, 3), (4, 5), (6, 7), (1, 1), (3, 9), (8, 2), (5, 5), (7, 1)]]
    write_jsonl(root / "gsm8k" / "test.jsonl", gsm[:3])
    write_jsonl(root / "gsm8k" / "train.jsonl", gsm[3:])
    for lang in MGSM_LANGS:
        write_jsonl(root / f"mgsm_{lang}.jsonl", [{"question": f"{a} + {b} = ?", "answer_number": a + b} for a, b in [(1, 2), (3, 4)]])
    for task in mmlu_subjects(TaskManager()):
        subject = task[len("mmlu_"):]
        rows = [{"question": f"Which is {subject} item {i}?", "subject": subject, "choices": ["w", "x", "y", "z"], "answer": "ABCD"[i]}
                for i in range(2)]
        write_jsonl(root / "mmlu" / subject / "test.jsonl", rows)
        write_jsonl(root / "mmlu" / subject / "dev.jsonl", rows)
    return root


@pytest.fixture(scope="module")
def evaluated(tiny_model, data_dir, tmp_path_factory):
    """The four families on the tiny model, through `mathmind eval`, twice (two names for the report)."""
    import subprocess
    import sys

    out = tmp_path_factory.mktemp("evalruns")
    runs = []
    for name in ("base", "tuned"):
        proc = subprocess.run([sys.executable, "-m", "mathmind", "eval", "--model", str(tiny_model), "--tasks",
                               "gsm8k,mgsm_direct,mgsm_cot_native,mmlu", "--data-dir", str(data_dir), "--out", str(out / name),
                               "--limit", "2", "--max-gen-toks", "8", "--batch-size", "8"], capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, proc.stderr[-4000:]
        runs.append(out / name)
    return runs


def test_four_families_run_for_real_with_the_exact_task_list(evaluated):
    summary = json.loads((evaluated[0] / "summary.json").read_text())
    tasks = {r["task"] for r in summary["rows"]}
    assert {"gsm8k", "mmlu"} <= tasks
    assert {t for t in tasks if t.startswith("mgsm")} == ({f"mgsm_direct_{l}" for l in MGSM_LANGS}
                                                          | {f"mgsm_native_cot_{l}" for l in MGSM_LANGS})
    row = next(r for r in summary["rows"] if r["task"] == "gsm8k" and r["filter"] == "flexible-extract")
    assert row["metric"] == "exact_match" and row["n"] == 2 and 0 <= row["value"] <= 1 and row["model"] == "base"
    judged = {r["task"] for r in summary["rows"] if r["metric"] == "judge"}          # every generation task, not mmlu
    assert "gsm8k" in judged and len([t for t in judged if t.startswith("mgsm")]) == 22 and not any(t.startswith("mmlu") for t in judged)
    mmlu = next(r for r in summary["rows"] if r["task"] == "mmlu")
    assert mmlu["metric"] == "acc" and mmlu["family"] == "mmlu"
    assert summary["device"] == "cpu"
    assert list((evaluated[0] / "lm_eval").rglob("samples_gsm8k_*.jsonl"))            # lm-eval's own sample logs


def test_report_tables_charts_and_breakdowns(evaluated, run_mathmind, tmp_path):
    out = tmp_path / "report" / "report.md"
    proc = run_mathmind("report", *map(str, evaluated), "--baseline", "base", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert "| benchmark | metric | base | tuned |" in text                            # seed 002's layout: models as columns
    for fam in ("gsm8k", "mgsm_direct", "mgsm_cot_native"):
        assert f"| {fam} | lm-eval exact_match, flexible-extract | " in text and f"| {fam} | **judge (final answer)** (headline) | " in text
    assert "| mmlu | **lm-eval acc** (headline) | " in text and "(+0.0) n=" in text    # no judge for loglikelihood tasks
    assert "| language | base | tuned |" in text and "| zh | " in text
    assert "### mmlu by subject (lm-eval)" in text                                  # from the logged samples
    pngs = list((tmp_path / "report" / "report_figures").glob("*.png"))
    assert len(pngs) >= 5
    import matplotlib.image
    for png in pngs:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and matplotlib.image.imread(png).shape[0] > 100
    bad = run_mathmind("report", str(evaluated[0]), "--baseline", "nope", "--out", str(out))
    assert bad.returncode == 2 and "--baseline 'nope' is not one of the models" in bad.stderr


def test_served_model_through_local_chat_completions_with_resume(data_dir, run_mathmind, tmp_path):
    with StandInTeacher(TeacherConfig(api_key="served-key")) as server:
        args = ["eval", "--model", "standin-r1", "--base-url", server.url, "--tasks", "gsm8k,mgsm_direct_zh",
                "--data-dir", str(data_dir), "--out", str(tmp_path / "served"), "--limit", "2", "--api-key-env", "SERVED_KEY"]
        proc = run_mathmind(*args, env={"SERVED_KEY": "served-key"}, timeout=600)
        assert proc.returncode == 0, proc.stderr[-4000:]
        asked = server.requests
        assert asked == 4
        rows = json.loads((tmp_path / "served" / "summary.json").read_text())["rows"]
        assert {r["task"] for r in rows} == {"gsm8k", "mgsm_direct_zh"}
        again = run_mathmind(*args, env={"SERVED_KEY": "served-key"}, timeout=600)
        assert again.returncode == 0 and server.requests == asked                   # answered from lm-eval's cache
        assert "served-key" not in proc.stderr + proc.stdout


def test_no_data_and_no_hub_fails_fast(run_mathmind, tiny_model, tmp_path):
    started = time.time()
    proc = run_mathmind("eval", "--model", str(tiny_model), "--tasks", "gsm8k", "--out", str(tmp_path / "x"),
                        env={"HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 2 and "pass --data-dir" in proc.stderr and time.time() - started < 30


def test_math_breakdown_by_level_and_type_from_a_real_lm_eval_task(tiny_model, run_mathmind, tmp_path):
    """Seed 001's MATH charts: lm-eval's hendrycks_math_algebra over local data, broken down by Level and Type."""
    rows = [{"problem": f"What is ${i} + {i}$?", "solution": f"It is $\\boxed{{{2 * i}}}$.", "level": f"Level {1 + i % 3}",
             "type": "Algebra" if i % 2 else "Prealgebra"} for i in range(6)]
    write_jsonl(tmp_path / "data" / "hendrycks_math_algebra" / "test.jsonl", rows)
    run = tmp_path / "math"
    proc = run_mathmind("eval", "--model", str(tiny_model), "--tasks", "hendrycks_math_algebra", "--data-dir",
                        str(tmp_path / "data"), "--out", str(run), "--max-gen-toks", "8", "--batch-size", "6",
                        "--num-fewshot", "0", timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = tmp_path / "report.md"
    assert run_mathmind("report", str(run), "--out", str(report)).returncode == 0
    text = report.read_text()
    assert "hendrycks_math_algebra by level" in text and "| Level 1 |" in text and "| Level 3 |" in text
    assert "hendrycks_math_algebra by type" in text and "| Prealgebra |" in text


def test_served_mmlu_scores_loglikelihoods_through_local_completions(tiny_model, data_dir, run_mathmind, tmp_path):
    """mmlu on a served model: lm-eval's local-completions with the local tokenizer, against a real model server."""
    from completions_server import CompletionsServer

    with CompletionsServer(str(tiny_model)) as server:
        proc = run_mathmind("eval", "--model", "tiny", "--base-url", server.url, "--tasks", "mmlu_anatomy,mmlu_virology",
                            "--tokenizer", str(tiny_model), "--data-dir", str(data_dir), "--out", str(tmp_path / "served_mmlu"),
                            "--limit", "2", "--num-concurrent", "1", timeout=600)
        assert proc.returncode == 0, proc.stderr[-4000:]
        assert server.requests > 0
    rows = json.loads((tmp_path / "served_mmlu" / "summary.json").read_text())["rows"]
    assert {r["task"] for r in rows} == {"mmlu_anatomy", "mmlu_virology"} and {r["metric"] for r in rows} == {"acc"}
    no_tokenizer = run_mathmind("eval", "--model", "tiny", "--base-url", "http://127.0.0.1:9/v1", "--tasks", "mmlu_anatomy",
                                "--data-dir", str(data_dir), "--out", str(tmp_path / "x"))
    assert no_tokenizer.returncode == 2 and "needs --tokenizer" in no_tokenizer.stderr
