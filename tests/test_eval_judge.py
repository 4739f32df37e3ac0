"""The judge metric and ModelScope eval data: a served model whose answers we control, on gsm8k and MGSM data
fetched offline from a populated ModelScope cache, scores its true accuracy under `judge`."""

import json

import pytest

from answer_server import AnswerServer

GSM = [(f"Tom has {a} apples and buys {b} more. How many apples does Tom have?", a + b)
       for a, b in [(2, 3), (4, 5), (6, 7), (3, 9), (8, 2), (5, 6)]]
GSM_TRAIN = [(f"Ann reads {a} pages and then {b} pages. How many pages?", a + b) for a, b in [(1, 1), (2, 2), (3, 1), (4, 4), (5, 1), (6, 2), (7, 3)]]
MGSM_ZH = [(f"小明有{a}个苹果，又买了{b}个。他现在有几个苹果？", a + b) for a, b in [(1, 2), (3, 4), (5, 6), (7, 1), (2, 9), (4, 4)]]
# The forms a distilled student answers in, with right or wrong values: (form, right?); "none" commits to nothing
FORMS = [("boxed", True), ("boxed", False), ("zh", True), ("think", True), ("think", False), ("none", None)]
TRUE_ACCURACY = sum(right is True for _, right in FORMS) / len(FORMS)      # 3 of 6


def reply(form: str, value: int) -> str:
    return {"boxed": f"We add the two numbers. The answer is $\\boxed{{{value}}}$.",
            "zh": f"两数相加。答案是 {value}",
            "think": f"<think>\nFirst {value - 1}? No, let me recount: {value}.\n</think>\n\n$\\boxed{{{value}}}$.",
            "none": "I cannot work this one out."}[form]


def replies(problems):
    return {q: reply(form, answer if right or right is None else answer + 1) for (q, answer), (form, right) in zip(problems, FORMS)}


@pytest.fixture
def modelscope_cache(tmp_path):
    """ModelScope's cache holding its copies of gsm8k (AI-ModelScope/gsm8k), MGSM (evalscope/mgsm), MMLU (cais/mmlu)."""
    import pandas as pd

    root = tmp_path / "mscache" / "datasets"

    def parquet(path, rows):
        path.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(rows).to_parquet(path)

    gsm = lambda rows: [{"question": q, "answer": f"{a - 1} + 1 = {a}\n#### {a}"} for q, a in rows]
    parquet(root / "AI-ModelScope/gsm8k/main/test-00000-of-00001.parquet", gsm(GSM))
    parquet(root / "AI-ModelScope/gsm8k/main/train-00000-of-00001.parquet", gsm(GSM_TRAIN))
    parquet(root / "evalscope/mgsm/zh/test-00000-of-00001.parquet",
            [{"question": q, "answer": None, "answer_number": a, "equation_solution": None} for q, a in MGSM_ZH])
    mmlu = [{"question": f"Q{i}?", "subject": "anatomy", "choices": ["a", "b", "c", "d"], "answer": i % 4} for i in range(3)]
    parquet(root / "cais/mmlu/anatomy/test-00000-of-00001.parquet", mmlu)
    parquet(root / "cais/mmlu/anatomy/dev-00000-of-00001.parquet", mmlu[:2])
    parquet(root / "cais/mmlu/all/test-00000-of-00001.parquet", mmlu * 2)
    return root.parent


def test_boxed_zh_and_think_answers_score_their_true_accuracy_under_judge(modelscope_cache, run_mathmind, tmp_path):
    data, out = tmp_path / "evaldata", tmp_path / "served"
    env = {"MODELSCOPE_CACHE": str(modelscope_cache), "MATHMIND_OFFLINE": "1"}
    with AnswerServer({**replies(GSM), **replies(MGSM_ZH)}) as server:
        proc = run_mathmind("eval", "--model", "student", "--base-url", server.url, "--tasks",
                            "gsm8k,mgsm_direct_zh,mgsm_native_cot_zh", "--data-source", "modelscope", "--data-dir", str(data),
                            "--out", str(out), "--num-concurrent", "1", env=env, timeout=600)
        assert proc.returncode == 0, proc.stderr[-4000:]
    summary = json.loads((out / "summary.json").read_text())
    rows = {(r["task"], r["metric"], r["filter"]): r for r in summary["rows"]}
    for task in ("gsm8k", "mgsm_direct_zh", "mgsm_native_cot_zh"):
        judge = rows[(task, "judge", "final-answer")]
        assert judge["value"] == pytest.approx(TRUE_ACCURACY) and judge["n"] == 6, judge
        assert judge["accepted"] == 3 and judge["rejected"] + judge["undecided"] == 3 and judge["scorer"] == "mathmind judge"
        verdicts = [json.loads(l) for l in (out / "judge" / f"{task}.jsonl").read_text().splitlines()]
        assert judge["undecided"] == sum(v["verdict"] == "undecided" for v in verdicts)     # counted and shown
        by_doc = [v["verdict"] for v in sorted(verdicts, key=lambda v: v["doc_id"])]
        assert by_doc[:5] == ["accept", "reject", "accept", "accept", "reject"] and by_doc[5] != "accept", by_doc
    assert {"lm-eval", "mathmind judge"} <= set(summary["scorers"])
    # lm-eval's own filters, unchanged, read only the `答案是 N` answer (flexible-extract takes `$.` out of `$\boxed{5}$.`)
    lm = {(t, f): rows[(t, "exact_match", f)]["value"] for t, _, f in rows if _ == "exact_match"}
    assert lm[("gsm8k", "strict-match")] == 0 and lm[("gsm8k", "flexible-extract")] == pytest.approx(1 / 6)
    assert lm[("mgsm_direct_zh", "flexible-extract")] == pytest.approx(1 / 6) and lm[("mgsm_direct_zh", "remove_whitespace")] == 0
    assert lm[("mgsm_native_cot_zh", "strict-match")] == 0                   # wants `答案是 N。` with the full stop
    # data: fetched from the ModelScope cache into the --data-dir layout, few-shot source named, short split warned about
    assert (data / "gsm8k" / "test.jsonl").is_file() and (data / "mgsm" / "zh" / "test.jsonl").is_file()
    assert "from modelscope:AI-ModelScope/gsm8k (subset main)" in proc.stderr
    assert f"5-shot examples drawn from {data / 'gsm8k' / 'train.jsonl'} (7 rows)" in proc.stderr
    assert "not comparable with published gsm8k numbers" in proc.stderr and "overrides existing task" in proc.stderr


def test_modelscope_mmlu_subject_layout_and_cache_reuse(modelscope_cache, monkeypatch, tmp_path):
    from mathmind.eval.modelscope_data import MODELSCOPE_DATASETS, fetch

    monkeypatch.setenv("MODELSCOPE_CACHE", str(modelscope_cache))
    monkeypatch.setenv("MATHMIND_OFFLINE", "1")
    notes = fetch(["mmlu_anatomy"], tmp_path, dict(MODELSCOPE_DATASETS))
    test = [json.loads(l) for l in (tmp_path / "mmlu" / "anatomy" / "test.jsonl").read_text().splitlines()]
    dev = (tmp_path / "mmlu" / "anatomy" / "dev.jsonl").read_text().splitlines()
    assert len(test) == 3 and len(dev) == 2 and test[1] == {"question": "Q1?", "subject": "anatomy", "choices": ["a", "b", "c", "d"], "answer": 1}
    assert notes == ["mmlu_anatomy: test 3 rows, dev 2 rows from modelscope:cais/mmlu (subset anatomy)"]
    assert fetch(["mmlu_anatomy"], tmp_path, dict(MODELSCOPE_DATASETS)) == []          # already in --data-dir: not read again


def test_modelscope_dataset_missing_from_cache_offline_is_one_clear_line(run_mathmind, tmp_path):
    proc = run_mathmind("eval", "--model", "x", "--base-url", "http://127.0.0.1:9/v1", "--tasks", "gsm8k", "--data-source",
                        "modelscope", "--data-dir", str(tmp_path / "d"), "--out", str(tmp_path / "o"),
                        env={"MODELSCOPE_CACHE": str(tmp_path / "empty"), "MATHMIND_OFFLINE": "1"})
    assert proc.returncode == 2 and "AI-ModelScope/gsm8k is not in the ModelScope cache" in proc.stderr
    assert "Traceback" not in proc.stderr
