"""mathmind run: pipelines of named steps, planned and checked before anything runs, fingerprinted, resumable."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from mathmind.distill.standin_teacher import StandInTeacher, TeacherConfig
from mathmind.errors import UserError
from mathmind.pipeline import load_pipeline, plan, run_pipeline
from mathmind.problems import make_problems

ROOT = Path(__file__).resolve().parents[1]


def write_questions(path, problems, **extra):
    path.write_text("".join(json.dumps({**{k: p[k] for k in ("question", "answer")}, **extra}, ensure_ascii=False) + "\n"
                            for p in problems))
    return path


@pytest.fixture
def teacher():
    problems = make_problems(30)
    os.environ["PIPE_KEY"] = "k"
    with StandInTeacher(TeacherConfig(api_key="k", answers={p["question"]: str(p["answer_number"]) for p in problems},
                                      wrong_share=0.2)) as server:
        server.problems = problems
        yield server


def chain(tmp_path, teacher):
    """answer (distill) -> judged -> dataset (convert), on the stand-in teacher."""
    questions = write_questions(tmp_path / "q.jsonl", teacher.problems)
    return {"run_dir": str(tmp_path / "run"), "steps": {
        "answer": {"run": "distill", "settings": {"questions": str(questions), "base_url": teacher.url, "api_key_env": "PIPE_KEY",
                                                  "no_progress": True}},
        "judged": {"run": "judge", "inputs": {"in": "answer"}, "settings": {"mode": "rule"}},
        "dataset": {"run": "convert", "inputs": {"in": "judged"}, "settings": {"format": "sharegpt", "name": "mine"}}}}


def state_of(tmp_path):
    return json.loads((tmp_path / "run" / "pipeline_state.json").read_text())


def test_skips_resumes_and_reruns_what_changed(tmp_path, teacher):
    pipeline = chain(tmp_path, teacher)
    run = tmp_path / "run"
    assert run_pipeline(pipeline) == 0 and teacher.requests == 30
    info = json.loads((run / "dataset" / "data" / "dataset_info.json").read_text())
    assert info["mine"]["file_name"] == "mine.json"
    assert run_pipeline(pipeline) == 0 and teacher.requests == 30                    # nothing re-asked
    pipeline["steps"]["dataset"]["settings"]["format"] = "alpaca"                     # only the dataset changes
    mtime = (run / "judged" / "judged.jsonl").stat().st_mtime_ns
    assert run_pipeline(pipeline) == 0 and teacher.requests == 30
    assert (run / "judged" / "judged.jsonl").stat().st_mtime_ns == mtime
    assert "instruction" in json.loads((run / "dataset" / "data" / "mine.json").read_text())[0]
    pipeline["steps"]["answer"]["settings"]["prompt"] = "seed002_dad_zh"               # everything from answer on
    assert run_pipeline(pipeline) == 0 and teacher.requests == 60
    assert state_of(tmp_path)["dataset"]["status"] == "done"
    # An interrupted distill resumes: drop the last 10 answers and mark the step as running.
    records = run / "answer" / "records.jsonl"
    records.write_text("".join(records.read_text().splitlines(keepends=True)[:20]))
    state = state_of(tmp_path)
    state["answer"]["status"] = "running"
    (run / "pipeline_state.json").write_text(json.dumps(state))
    assert run_pipeline(pipeline) == 0 and teacher.requests == 70                     # only the missing 10
    assert run_pipeline(pipeline, only="judged", force=True) == 0 and teacher.requests == 70


def test_only_and_from_never_count_unrun_steps_as_done(tmp_path, teacher, capsys):
    """The bug: `--only`/`--from` recorded every step they did not run as done, so a later plain run skipped them."""
    pipeline = chain(tmp_path, teacher)
    run = tmp_path / "run"
    assert run_pipeline(pipeline, only="answer") == 0
    assert set(state_of(tmp_path)) == {"answer"}                                       # judged, dataset: no record
    with pytest.raises(UserError, match=r"step 'judged': --only dataset reads its output .*judged.jsonl, which does not exist"):
        run_pipeline(pipeline, only="dataset")
    assert run_pipeline(pipeline) == 0                                                # the others really run now
    assert json.loads((run / "dataset" / "data" / "mine.json").read_text())
    assert {k: v["status"] for k, v in state_of(tmp_path).items()} == {"answer": "done", "judged": "done", "dataset": "done"}
    # --from trusts earlier outputs for this invocation only: judged was interrupted, dataset re-runs from its output ...
    state = state_of(tmp_path)
    state["judged"]["status"] = "running"
    (run / "pipeline_state.json").write_text(json.dumps(state))
    capsys.readouterr()
    assert run_pipeline(pipeline, start="dataset", force=True, show_plan=True) == 0
    shown = capsys.readouterr().out
    assert "answer (distill): SKIP: not selected; unchanged" in shown and "judged (judge): TRUSTED: not run" in shown
    assert "dataset (convert): RERUN: forced" in shown
    assert run_pipeline(pipeline, start="dataset", force=True) == 0 and teacher.requests == 30
    assert state_of(tmp_path)["judged"]["status"] == "running"                         # still not done
    # ... and the next plain run resumes judged; its output is the same, so dataset is not re-run.
    assert run_pipeline(pipeline, show_plan=True) == 0
    shown = capsys.readouterr().out
    assert "judged (judge): RESUME" in shown and "dataset (convert): PENDING: runs after judged if its output changes" in shown
    assert run_pipeline(pipeline) == 0
    err = capsys.readouterr().err
    assert "run: judged: interrupted before: resuming" in err and "run: dataset: unchanged, skipped" in err
    # A changed setting re-runs that step from scratch, and what reads it follows because its input changed.
    pipeline["steps"]["answer"]["settings"]["limit"] = 20
    assert run_pipeline(pipeline) == 0 and teacher.requests == 50
    assert len((run / "judged" / "judged.jsonl").read_text().splitlines()) == 20
    err = capsys.readouterr().err
    assert "run: answer: changed: settings" in err
    assert "run: judged: changed: input answer's output" in err and "run: dataset: changed: input judged's output" in err


def test_a_distill_step_reads_an_earlier_steps_records(tmp_path, teacher):
    """An evaluate-the-answer step: a distill over the answer step's records, its prompt filled from their fields
    ({answer}) and from the source columns they carry ({topic}); the gold stays the dataset's."""
    problems = teacher.problems[:5]
    questions = write_questions(tmp_path / "q.jsonl", problems, topic="arithmetic")
    review = tmp_path / "review.yaml"
    review.write_text(yaml.safe_dump({"name": "review", "fields": ["question", "answer", "topic"],
                                      "template": "Topic {topic}. Check this answer to {question}:\n{answer}"}))
    api = {"base_url": teacher.url, "api_key_env": "PIPE_KEY", "no_progress": True}
    pipeline = {"run_dir": str(tmp_path / "run"), "steps": {
        "answer": {"run": "distill", "settings": {"questions": str(questions), **api}},
        "review": {"run": "distill", "inputs": {"questions": "answer"}, "settings": {"prompt": str(review), "answer_field": "gold", **api}}}}
    assert run_pipeline(pipeline) == 0
    answers = {r["question"]: r for r in map(json.loads, (tmp_path / "run" / "answer" / "records.jsonl").read_text().splitlines())}
    reviews = [json.loads(line) for line in (tmp_path / "run" / "review" / "records.jsonl").read_text().splitlines()]
    assert len(reviews) == 5 and teacher.requests == 10
    for r in reviews:
        first = answers[r["question"]]
        assert r["gold"] == first["gold"] and r["source"] == {"answer": first["gold"], "topic": "arithmetic"}
        sent = f"Topic arithmetic. Check this answer to {r['question']}:\n{first['answer']}"
        assert any(sent in asked for asked in teacher.attempts), list(teacher.attempts)[:2]


def test_shipped_pipelines_plan_every_step(run_mathmind, tmp_path):
    seed002 = run_mathmind("run", "recipes/pipelines/seed002_qwen2.5_7b.yaml", "--plan", cwd=str(tmp_path))
    assert seed002.returncode == 0, seed002.stderr
    steps = {s.name: s for s in plan(load_pipeline(ROOT / "recipes/pipelines/seed002_qwen2.5_7b.yaml"), Path("runs/seed002"))}
    assert list(steps) == ["answer", "judged", "dataset", "distilled", "dataset_unfiltered", "unfiltered", "eval_base",
                           "eval_unfiltered", "eval_distilled", "report"]
    assert [line.split(":")[0] for line in seed002.stdout.splitlines() if line[:1].isdigit()] == \
        [f"{i}. {name} ({s.command})" for i, (name, s) in enumerate(steps.items(), 1)]
    assert seed002.stdout.count("RUN: new") == 10 and "nothing is run" in seed002.stdout
    assert ("$ mathmind train recipes/qwen2.5-7b-instruct/full_distill.yaml output_dir=runs/seed002/distilled/model "
            "dataset=DS_r1_answer custom_dataset_info=runs/seed002/dataset/data/dataset_info.json cutoff_len=4096 "
            "--hardware npu:8") in seed002.stdout
    assert "--questions 'modelscope:modelscope/gsm8k?subset=main&split=train'" in seed002.stdout
    assert steps["eval_distilled"].argv[:3] == ["eval", "--model", "runs/seed002/distilled/model"]
    assert steps["report"].argv[1:4] == ["runs/seed002/eval_base/eval", "runs/seed002/eval_unfiltered/eval",
                                         "runs/seed002/eval_distilled/eval"]
    assert steps["dataset_unfiltered"].argv[:3] == ["convert", "--in", "runs/seed002/answer/records.jsonl"]
    assert "--keep" in steps["dataset_unfiltered"].argv
    assert not (tmp_path / "runs").exists()                                            # --plan ran nothing

    seed003 = run_mathmind("run", "recipes/pipelines/seed003_qwen2_7b_two_agents.yaml", "--plan", cwd=str(tmp_path))
    assert seed003.returncode == 0, seed003.stderr
    steps = {s.name: s for s in plan(load_pipeline(ROOT / "recipes/pipelines/seed003_qwen2_7b_two_agents.yaml"),
                                     Path("runs/seed003"))}
    assert [s.command for s in steps.values()].count("distill") == 2 and [s.command for s in steps.values()].count("train") == 2
    assert steps["evaluate"].argv[:3] == ["distill", "--questions", "runs/seed003/answer/records.jsonl"]
    assert "seed003_evaluate_zh" in steps["evaluate"].argv and "dataset=logic_evaluate" in steps["evaluate_lora"].argv
    assert steps["eval_answer"].argv[:3] == ["eval", "--model", "runs/seed003/answer_model/model"]
    assert seed003.stdout.count("RUN: new") == len(steps) == 13


def test_orca_math_pipeline_is_sft_then_two_preference_rounds(run_mathmind, tmp_path):
    shown = run_mathmind("run", "recipes/pipelines/orca_math_qwen2.5_7b.yaml", "--plan", cwd=str(tmp_path))
    assert shown.returncode == 0, shown.stderr
    steps = {s.name: s for s in plan(load_pipeline(ROOT / "recipes/pipelines/orca_math_qwen2.5_7b.yaml"), Path("runs/orca_math"))}
    commands = [s.command for s in steps.values()]
    assert [commands.count(c) for c in ("distill", "train", "sample", "judge", "pairs", "eval", "report")] == [1, 3, 2, 3, 2, 4, 1]
    assert shown.stdout.count("RUN: new") == len(steps) == 17
    run = "runs/orca_math"
    assert steps["samples2"].argv[:5] == ["sample", "--questions", f"{run}/teacher_judged/judged.jsonl", "--model-path", f"{run}/kto1/model"]
    kto2 = steps["kto2"].argv
    assert f"model_name_or_path={run}/kto1/model" in kto2 and f"custom_dataset_info={run}/pairs2/data/dataset_info.json" in kto2
    assert [w for w in kto2 if w.startswith("dataset=")][-1] == "dataset=orca2_kto"                  # the override wins
    assert steps["report"].argv[1:5] == [f"{run}/eval_{m}/eval" for m in ("base", "sft", "kto1", "kto2")]


def test_old_style_pipeline_gets_one_error_and_an_upgrade(run_mathmind, tmp_path):
    old = {"run_dir": "runs/x", "distill": {"questions": "q.jsonl"}, "judge": {"mode": "rule"},
           "convert": {"format": "sharegpt", "name": "d"}, "train": {"recipe": "recipes/tiny/full_sft.yaml"},
           "eval": {"models": {"before": "models/tiny", "after": "train"}, "tasks": "gsm8k"}, "report": {"baseline": "before"}}
    path = tmp_path / "old.yaml"
    path.write_text(yaml.safe_dump(old, sort_keys=False))
    proc = run_mathmind("run", str(path), cwd=str(tmp_path))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert "old-style pipeline" in proc.stderr and "--upgrade > NEW.yaml" in proc.stderr
    upgraded = run_mathmind("run", str(path), "--upgrade", cwd=str(tmp_path))
    (tmp_path / "new.yaml").write_text(upgraded.stdout)
    steps = {s.name: s for s in plan(load_pipeline(tmp_path / "new.yaml"), Path("runs/x"))}
    assert list(steps) == ["distill", "judge", "convert", "train", "eval_before", "eval_after", "report"]
    assert steps["eval_after"].argv[:3] == ["eval", "--model", "runs/x/train/model"]
    assert steps["report"].argv[-2:] == ["--baseline", "before"]


GOOD = {"run_dir": "runs/x", "steps": {
    "answer": {"run": "distill", "settings": {"questions": "q.jsonl"}},
    "judged": {"run": "judge", "inputs": {"in": "answer"}},
    "data": {"run": "convert", "inputs": {"in": "judged"}, "settings": {"format": "sharegpt"}},
    "sft": {"run": "train", "inputs": {"dataset": "data"}, "settings": {"recipe": "recipes/tiny/full_sft.yaml"}},
    "score": {"run": "eval", "inputs": {"model": "sft"}, "settings": {"tasks": "gsm8k"}},
    "extra": {"run": "distill", "settings": {"questions": "q.jsonl"}}}}


@pytest.mark.parametrize("path, value, message", [
    ("steps.judged.run", "juge", "step 'judged': run: 'juge' is not a mathmind subcommand (did you mean 'judge'?)"),
    ("steps.answer.settings.concurency", 3, "step 'answer': settings.concurency: not an option of `mathmind distill` "
                                            "(did you mean concurrency?)"),
    ("steps.judged.inputs.in", "anwser", "step 'judged': inputs.in: 'anwser' names no step"),
    ("steps.judged.inputs.in", "extra", "step 'judged': inputs.in: 'extra' comes later in the file"),
    ("steps.answer.inputs", {"questions": "judged"}, "step 'answer': inputs form a cycle: answer -> judged -> answer"),
    ("steps.data.inputs.in", "sft", "step 'data': inputs form a cycle"),
    ("steps.sft.inputs.dataset", "judged", "step 'sft': inputs.dataset: 'judged' (judge) writes judged, but `train --dataset` reads dataset"),
    ("steps.score.inputs.model", "data", "step 'score': inputs.model: 'data' (convert) writes dataset, but `eval --model` reads model"),
    ("steps.judged.inputs", None, "step 'judged': inputs.in is required"),
    ("steps.judged.inputs.out", "answer", "step 'judged': inputs.out: `mathmind judge` reads no input 'out'"),
    ("steps.judged.setting", {}, "step 'judged': unknown key 'setting'"),
    ("steps.sft.settings.overrides", {"output_dir": "elsewhere"}, "step 'sft': settings.overrides.output_dir: the runner sets it"),
    ("steps.score.settings.model", "models/x", "step 'score': inputs.model: also given in settings"),
    ("steps.data.settings.format", "csv", "step 'data' (mathmind convert): argument --format: invalid choice: 'csv'"),
    ("steps.sft.settings.recipe", None, "step 'sft': settings.recipe is required (`mathmind train` takes it as {recipe})"),
    ("steps.data.run", "doctor", "step 'data': run: 'doctor' writes nothing a pipeline step can track"),
    ("steps.bad name", {"run": "judge"}, "step 'bad name': a step name is letters"),
    ("steps", [], "`steps` must map step names to steps"),
])
def test_bad_pipelines_are_one_line_errors_naming_step_and_key(tmp_path, path, value, message):
    pipeline = json.loads(json.dumps(GOOD))
    *parents, last = path.split(".")
    node = pipeline
    for key in parents:
        node = node[key]
    node[last] = value
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
    proc = subprocess.run([sys.executable, "-m", "mathmind", "run", "p.yaml", "--plan"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and message in proc.stderr, proc.stderr


def test_duplicate_step_names_are_an_error(tmp_path):
    (tmp_path / "p.yaml").write_text("run_dir: r\nsteps:\n  a: {run: tiny-model}\n  a: {run: tiny-model}\n")
    with pytest.raises(UserError, match="step 'a' is defined twice"):
        load_pipeline(tmp_path / "p.yaml")


def test_two_trains_and_two_evals_resume_after_a_kill_in_the_second_train(tmp_path, tiny_model):
    """The same subcommand twice (sft_b continues from sft_a's model; each model evaluated): killed while sft_b
    trains, the re-run skips what finished, resumes sft_b from its checkpoint, then evaluates both models."""
    from mathmind.demo import DEMO_TASK, demo_task_yaml

    problems = make_problems(48, seed=3)
    questions = write_questions(tmp_path / "q.jsonl", problems[:40])
    test = tmp_path / "test.jsonl"
    test.write_text("".join(json.dumps({k: p[k] for k in ("question", "answer", "answer_number")}) + "\n" for p in problems[40:]))
    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks" / f"{DEMO_TASK}.yaml").write_text(demo_task_yaml(test))
    train = {"recipe": "recipes/tiny/full_sft.yaml", "hardware": "cpu:1"}
    sft = {"model_name_or_path": str(tiny_model), "logging_steps": 1, "per_device_train_batch_size": 4}
    evaluate = {"tasks": DEMO_TASK, "include_path": str(tmp_path / "tasks"), "max_gen_toks": 8, "batch_size": 4,
                "apply_chat_template": True}
    with StandInTeacher(TeacherConfig(api_key="k", answers={p["question"]: str(p["answer_number"]) for p in problems})) as teacher:
        pipeline = {"run_dir": str(tmp_path / "run"), "steps": {
            "answer": {"run": "distill", "settings": {"questions": str(questions), "base_url": teacher.url,
                                                      "api_key_env": "PIPE_KEY", "no_progress": True}},
            "dataset": {"run": "convert", "inputs": {"in": "answer"}, "settings": {"format": "sharegpt", "keep": "all"}},
            "sft_a": {"run": "train", "inputs": {"dataset": "dataset"},
                      "settings": {**train, "overrides": {**sft, "max_steps": 3, "save_steps": 3}}},
            "sft_b": {"run": "train", "inputs": {"dataset": "dataset", "model": "sft_a"},
                      "settings": {**train, "overrides": {"logging_steps": 1, "per_device_train_batch_size": 4,
                                                          "max_steps": 30, "save_steps": 4}}},
            "eval_a": {"run": "eval", "inputs": {"model": "sft_a"}, "settings": {**evaluate, "name": "a"}},
            "eval_b": {"run": "eval", "inputs": {"model": "sft_b"}, "settings": {**evaluate, "name": "b"}}}}
        (tmp_path / "p.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
        command = [sys.executable, "-m", "mathmind", "run", str(tmp_path / "p.yaml")]
        env = {**os.environ, "PIPE_KEY": "k"}
        first = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                 start_new_session=True)
        checkpoint = tmp_path / "run" / "sft_b" / "model" / "checkpoint-8" / "trainer_state.json"
        deadline = time.time() + 400
        while not checkpoint.exists():
            assert first.poll() is None, first.stdout.read()[-3000:]
            assert time.time() < deadline, "sft_b wrote no checkpoint"
            time.sleep(0.2)
        os.killpg(first.pid, signal.SIGKILL)                             # the pipeline, torchrun and its workers
        first.wait()
        state = json.loads((tmp_path / "run" / "pipeline_state.json").read_text())
        assert {k: v["status"] for k, v in state.items()} == {"answer": "done", "dataset": "done", "sft_a": "done", "sft_b": "running"}
        sft_a_state = tmp_path / "run" / "sft_a" / "model" / "trainer_state.json"
        mtime = sft_a_state.stat().st_mtime_ns
        requests = teacher.requests
        second = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    for name in ("answer", "dataset", "sft_a"):
        assert f"run: {name}: unchanged, skipped" in second.stderr
    assert "run: sft_b: interrupted before: resuming" in second.stderr and "resuming from" in second.stdout
    assert teacher.requests == requests and sft_a_state.stat().st_mtime_ns == mtime
    assert json.loads((tmp_path / "run" / "sft_b" / "model" / "trainer_state.json").read_text())["global_step"] == 30
    for name in ("a", "b"):
        summary = json.loads((tmp_path / "run" / f"eval_{name}" / "eval" / "summary.json").read_text())
        assert summary["model"] == name and summary["source"] == str(tmp_path / "run" / f"sft_{name}" / "model")
        assert {r["task"] for r in summary["rows"]} == {DEMO_TASK} and summary["rows"][0]["n"] == 8
    plan_again = subprocess.run([*command, "--plan"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert plan_again.stdout.count("SKIP: unchanged, skipped") == 6, plan_again.stdout
