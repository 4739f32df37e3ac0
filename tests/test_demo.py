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
    judged = [json.loads(line) for line in (run / "judged" / "judged.jsonl").read_text().splitlines()]
    assert len(judged) == 200 and 20 < sum(r["verdict"] == "reject" for r in judged) < 90      # the wrong quarter
    dataset = run / "dataset" / "data" / "demo_sharegpt.json"
    assert len(json.loads(dataset.read_text())) == sum(r["verdict"] == "accept" for r in judged)
    assert (run / "train" / "model" / "trainer_state.json").is_file()
    for name in ("before", "after"):
        rows = json.loads((run / f"eval_{name}" / "eval" / "summary.json").read_text())["rows"]
        assert {r["task"] for r in rows} == {"mathmind_demo"} and rows[0]["n"] == 20
    assert "| after |" in (run / "report" / "report.md").read_text()
    assert "held-out accuracy (20 problems, lm-eval, boxed answer): before training" in proc.stdout
    state = json.loads((run / "pipeline_state.json").read_text())
    assert set(state) == {"answer", "judged", "dataset", "train", "eval_before", "eval_after", "report"}
    again = run_mathmind(*args, timeout=900)
    assert again.returncode == 0 and again.stderr.count("unchanged, skipped") == 7, again.stderr[-2000:]
    shown = run_mathmind("run", str(out / "pipeline.yaml"), "--plan")                # the file it wrote, planned
    assert shown.returncode == 0 and shown.stdout.count("SKIP: unchanged, skipped") == 7, shown.stdout + shown.stderr


def test_demo_pipeline_is_a_plan_of_named_steps(tmp_path, capsys):
    """The demo builds its pipeline the way users write theirs: named steps, inputs by step name."""
    from mathmind.demo import demo_pipeline
    from mathmind.pipeline import run_pipeline

    pipeline = demo_pipeline(tmp_path / "demo", "http://127.0.0.1:9/v1", epochs=1)
    assert run_pipeline(pipeline, show_plan=True) == 0
    shown = capsys.readouterr().out
    assert shown.count("RUN: new") == 7 and not (tmp_path / "demo" / "run").exists()
    run = tmp_path / "demo" / "run"
    assert f"$ mathmind judge --in {run}/answer/records.jsonl --out {run}/judged/judged.jsonl --mode rule" in shown
    assert f"dataset=demo_sharegpt custom_dataset_info={run}/dataset/data/dataset_info.json" in shown
    assert f"$ mathmind eval --model {run}/train/model --out {run}/eval_after/eval --name after" in shown
    assert f"$ mathmind report {run}/eval_before/eval {run}/eval_after/eval --out {run}/report/report.md" in shown


def test_shortened_orca_math_demo_prints_accuracy_after_sft_and_each_kto_round(run_mathmind, tmp_path):
    """Seed 004 on the tiny model: SFT, then two rounds of sample -> judge -> pairs -> KTO, each model evaluated."""
    import yaml

    out = tmp_path / "demo"
    args = ["demo", "--recipe", "orca-math", "--out", str(out), "--train", "300", "--test", "20", "--epochs", "1",
            "--sample-questions", "16"]
    proc = run_mathmind(*args, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    run = out / "orca-run"
    shown = proc.stdout.split("held-out accuracy (20 problems", 1)[1]
    for name, label in (("sft", "after SFT"), ("kto1", "after preference round 1 (KTO)"), ("kto2", "after preference round 2 (KTO)")):
        rows = json.loads((run / f"eval_{name}" / "eval" / "summary.json").read_text())["rows"]
        value = next(r["value"] for r in rows if r["filter"] == "boxed")
        assert re.search(rf"{re.escape(label)}\s+{value:.1%}", shown), shown                   # the printed number is measured
    for i, start in ((1, "sft"), (2, "kto1")):
        assert len((run / f"samples{i}" / "records.jsonl").read_text().splitlines()) == 16 * 4
        summary = json.loads((run / f"pairs{i}" / "data" / f"orca{i}.summary.json").read_text())
        assert summary["questions"] == 16 and summary["kto_desirable"] + summary["kto_undesirable"] >= 16
        launched = yaml.safe_load((run / f"kto{i}" / "model.mathmind" / "recipe.torchrun.yaml").read_text())
        assert launched["stage"] == "kto" and launched["dataset"] == f"orca{i}_kto"
        assert launched["model_name_or_path"] == str(run / start / "model")                  # each round starts from the last
    assert "| sft | kto1 | kto2 |" in (run / "report" / "report.md").read_text()
    again = run_mathmind(*args, timeout=900)
    assert again.returncode == 0 and again.stderr.count("unchanged, skipped") == 16, again.stderr[-2000:]
