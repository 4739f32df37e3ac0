"""The embedded default and the pipeline runner, end to end through the real stages."""

import json
import re

from mathmind.distill.standin_teacher import StandInTeacher, TeacherConfig
from mathmind.pipeline import run_pipeline
from mathmind.problems import make_problems


def test_generated_problems_have_exact_answers_and_both_languages():
    problems = make_problems(300)
    assert len({p["question"] for p in problems}) == 300
    assert any(re.search(r"[\u4e00-\u9fff]", p["question"]) for p in problems)
    for p in problems:
        a, sign, b, _, value = p["work"].split()
        assert int(value) == (int(a) + int(b) if sign == "+" else int(a) - int(b)) == p["answer_number"] >= 0
        assert p["answer"] == f"{p['work']}\n#### {value}" and [a, b] == re.findall(r"\d", p["question"])


def test_shortened_demo_runs_every_stage_and_reruns_nothing(run_mathmind, tmp_path):
    out = tmp_path / "demo"
    args = ["demo", "--out", str(out), "--train", "200", "--test", "20", "--epochs", "1", "--wrong-share", "0.25"]
    proc = run_mathmind(*args, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    run = out / "run"
    judged = [json.loads(line) for line in (run / "judged.jsonl").read_text().splitlines()]
    assert len(judged) == 200 and 20 < sum(r["verdict"] == "reject" for r in judged) < 90      # the wrong quarter
    assert len(json.loads((run / "data" / "demo_sharegpt.json").read_text())) == sum(r["verdict"] == "accept" for r in judged)
    assert (run / "train" / "trainer_state.json").is_file()
    for name in ("before", "after"):
        rows = json.loads((run / "eval" / name / "summary.json").read_text())["rows"]
        assert {r["task"] for r in rows} == {"mathmind_demo"} and rows[0]["n"] == 20
    assert "| after |" in (run / "report.md").read_text()
    assert "held-out accuracy (20 problems, lm-eval, boxed answer): before training" in proc.stdout
    state = json.loads((run / "pipeline_state.json").read_text())
    assert set(state) == {"distill", "judge", "convert", "train", "eval:before", "eval:after", "report"}
    again = run_mathmind(*args, timeout=900)
    assert again.returncode == 0 and again.stderr.count("unchanged, skipped") == 7, again.stderr[-2000:]


def test_pipeline_skips_resumes_and_reruns_what_changed(tmp_path):
    problems = make_problems(30)
    questions = tmp_path / "q.jsonl"
    questions.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in problems))
    with StandInTeacher(TeacherConfig(api_key="k", answers={p["question"]: str(p["answer_number"]) for p in problems},
                                      wrong_share=0.2)) as teacher:
        import os
        os.environ["PIPE_KEY"] = "k"
        pipeline = {"run_dir": str(tmp_path / "run"),
                    "distill": {"questions": str(questions), "base_url": teacher.url, "api_key_env": "PIPE_KEY", "no_progress": True},
                    "judge": {"mode": "rule"},
                    "convert": {"format": "sharegpt", "name": "mine"}}
        assert run_pipeline(pipeline) == 0 and teacher.requests == 30
        info = json.loads((tmp_path / "run" / "data" / "dataset_info.json").read_text())
        assert info["mine"]["file_name"] == "mine.json"
        assert run_pipeline(pipeline) == 0 and teacher.requests == 30                   # nothing re-asked
        pipeline["convert"]["format"] = "alpaca"                                         # only convert changes
        mtime = (tmp_path / "run" / "judged.jsonl").stat().st_mtime_ns
        assert run_pipeline(pipeline) == 0 and teacher.requests == 30
        assert (tmp_path / "run" / "judged.jsonl").stat().st_mtime_ns == mtime
        assert "instruction" in json.loads((tmp_path / "run" / "data" / "mine.json").read_text())[0]
        pipeline["distill"]["prompt"] = "seed002_dad_zh"                                 # everything from distill on
        assert run_pipeline(pipeline) == 0 and teacher.requests == 60
        # An interrupted distill resumes: drop the last 10 answers and mark the stage as running.
        distilled = tmp_path / "run" / "distill.jsonl"
        distilled.write_text("".join(distilled.read_text().splitlines(keepends=True)[:20]))
        state_path = tmp_path / "run" / "pipeline_state.json"
        state = json.loads(state_path.read_text())
        state["distill"]["status"] = "running"
        state_path.write_text(json.dumps(state))
        assert run_pipeline(pipeline) == 0 and teacher.requests == 70                    # only the missing 10
        assert run_pipeline(pipeline, only="judge", force=True) == 0 and teacher.requests == 70


def test_seed002_pipeline_is_a_real_plan():
    from pathlib import Path

    from mathmind.launch.recipe import shipped
    from mathmind.pipeline import load_pipeline, plan

    pipeline = load_pipeline(shipped(Path("recipes/pipelines/seed002_qwen2.5_7b.yaml")))
    steps = {s.key: s.argv for s in plan(pipeline, Path(pipeline["run_dir"]))}
    assert list(steps) == ["distill", "judge", "convert", "train", "eval:base", "eval:distilled", "report"]
    assert steps["distill"][steps["distill"].index("--questions") + 1] == "modelscope:modelscope/gsm8k?subset=main&split=train"
    assert "--concurrency" in steps["distill"] and "30" in steps["distill"]
    assert steps["convert"][steps["convert"].index("--name") + 1] == "DS_r1_answer"
    assert "dataset=DS_r1_answer" in steps["train"] and "--hardware" in steps["train"]
    assert steps["eval:distilled"][steps["eval:distilled"].index("--model") + 1] == "runs/seed002/train"
    assert steps["report"][-2:] == ["--baseline", "base"]
