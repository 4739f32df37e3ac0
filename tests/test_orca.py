"""Seed 004 (Orca-Math): student sampling, preference pairs, DPO / KTO training, harder-problem generation.

Real pieces only: the stand-in teacher is a real OpenAI-compatible HTTP server on 127.0.0.1 (here also
serving "the student"), the local sampler runs transformers on the tiny Qwen2, training runs under a
real torchrun with 2 processes and DeepSpeed ZeRO-2.
"""

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

ROOT = Path(__file__).resolve().parents[1]


def read(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def write_jsonl(path, rows):
    Path(path).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return path


def teacher_file(path, questions_answers, rejected=()):
    """Judged teacher records as `mathmind judge` writes them (one rejected answer per question in `rejected`)."""
    rows = []
    for i, (question, value) in enumerate(questions_answers):
        if question in rejected:
            rows.append({"id": f"t.jsonl#{i}#0", "question": question, "answer": "The answer is \\boxed{999}.", "verdict": "reject"})
        rows.append({"id": f"t.jsonl#{i}#1", "question": question, "gold": value, "reasoning": "Add them.",
                     "answer": f"We add step by step. The answer is \\boxed{{{value}}}.", "verdict": "accept"})
    return write_jsonl(path, rows)


def sample_args(server, questions, out, *extra):
    return ["sample", "--questions", str(questions), "--base-url", server.url, "--model", "student", "--out", str(out),
            "--retry-base-delay", "0.01", "--no-progress", *extra]


# --- sample -------------------------------------------------------------------------------------------------

def test_sample_server_with_missing_choices_and_errors_then_rerun_and_judge_against_the_teacher(run_mathmind, tmp_path):
    qa = [("Ann has 3 apples and gets 4 more. How many apples? [[fault:nochoices x2]]", "7"),
          ("Bo has 5 pens and buys 2. How many pens? [[fault:500 x2]]", "7"),
          ("Cy has 6 cups and gets 3. How many cups?", "9")]
    questions = teacher_file(tmp_path / "teacher.jsonl", qa, rejected={qa[2][0]})
    out = tmp_path / "samples.jsonl"
    answers = {q: v for q, v in qa}
    with StandInTeacher(TeacherConfig(answers=answers, sample_wrong_share=0.5, seed=3)) as student:
        first = run_mathmind(*sample_args(student, questions, out, "--max-retries", "0"))
        assert first.returncode == 1, first.stderr
        errors = read(tmp_path / "samples.errors.jsonl")
        assert sorted(e["reason"].split()[0] for e in errors) == ["500", "500", "empty", "empty"]
        assert len(read(out)) == 8                       # 12 wanted; the 4 failed samples are missing, nothing else
        second = run_mathmind(*sample_args(student, questions, out, "--max-retries", "0"))
        assert second.returncode == 0, second.stderr
        assert "8 already in" in second.stderr
        assert student.requests == 12 + 4                 # the re-run asked only for the 4 missing samples
    records = read(out)
    assert sorted(r["id"] for r in records) == sorted(f"t.jsonl#{i}#{j}" for i in range(3) for j in range(4))
    assert all(r["gold"] == f"We add step by step. The answer is \\boxed{{{answers[r['question']]}}}." for r in records)
    judged_path = tmp_path / "judged.jsonl"
    judged = run_mathmind("judge", "--in", str(out), "--out", str(judged_path))
    assert judged.returncode == 0, judged.stderr
    verdicts = {r["verdict"] for r in read(judged_path)}
    assert verdicts == {"accept", "reject"}          # sampled at "temperature": some right, some wrong
    for r in read(judged_path):
        assert (r["verdict"] == "accept") == (r["extracted"] == answers[r["question"]])


def test_sample_killed_mid_run_resumes_without_duplicates(run_mathmind, tmp_path):
    qa = [(f"Dee has {i} beads and gets 1 more. How many beads?", str(i + 1)) for i in range(10)]
    questions = teacher_file(tmp_path / "teacher.jsonl", qa)
    out = tmp_path / "samples.jsonl"
    with StandInTeacher(TeacherConfig(latency_s=0.2)) as student:
        args = [sys.executable, "-m", "mathmind", *sample_args(student, questions, out, "--concurrency", "2")]
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (not out.exists() or len(out.read_text().splitlines()) < 8):
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        with out.open("a") as f:
            f.write('{"id": "t.jsonl#9#3", "quest')           # a line torn by the crash
        kept = len(out.read_text().splitlines()) - 1
        assert 8 <= kept < 40
        before = student.requests
        resumed = run_mathmind(*sample_args(student, questions, out, "--concurrency", "4"))
        assert resumed.returncode == 0, resumed.stderr
        assert student.requests - before == 40 - kept
    ids = [r["id"] for r in read(out)]
    assert len(ids) == len(set(ids)) == 40


def test_sample_local_model_batched_and_resumable(run_mathmind, tmp_path, tiny_model):
    qa = [("Eve has 2 hats and gets 2 more. How many hats?", "4"), ("Fay has 1 box and gets 5. How many boxes?", "6"),
          ("Gus has 7 keys and loses 3. How many keys?", "4")]
    questions = teacher_file(tmp_path / "teacher.jsonl", qa)
    out = tmp_path / "samples.jsonl"
    args = ["sample", "--questions", str(questions), "--model-path", str(tiny_model), "--out", str(out), "--k", "2",
            "--limit", "2", "--batch-size", "3", "--max-tokens", "8", "--no-progress"]
    first = run_mathmind(*args)
    assert first.returncode == 0, first.stderr
    records = read(out)
    assert sorted(r["id"] for r in records) == ["t.jsonl#0#0", "t.jsonl#0#1", "t.jsonl#1#0", "t.jsonl#1#1"]
    for r in records:
        assert r["model"] == tiny_model.name and r["finish_reason"] in ("stop", "length")
        assert 0 < r["usage"]["completion_tokens"] <= 8 and r["usage"]["prompt_tokens"] > 5
        assert r["gold"].endswith("\\boxed{4}.") or r["gold"].endswith("\\boxed{6}.")
    again = run_mathmind(*args[:-5], "--k", "3", "--limit", "2", "--batch-size", "3", "--max-tokens", "8", "--no-progress")
    assert again.returncode == 0 and "4 already in" in again.stderr
    assert len(read(out)) == 6                           # only the third sample per question was added


def test_sample_needs_exactly_one_student(run_mathmind, tmp_path):
    questions = teacher_file(tmp_path / "t.jsonl", [("q 1", "1")])
    both = run_mathmind("sample", "--questions", str(questions), "--out", str(tmp_path / "o.jsonl"))
    assert both.returncode == 2 and "exactly one of --base-url" in both.stderr and "Traceback" not in both.stderr


# --- pairs --------------------------------------------------------------------------------------------------

def judged_sample(question, j, value, verdict, teacher_value):
    return {"id": f"{question[:8]}#{j}", "question": question, "gold": f"The answer is \\boxed{{{teacher_value}}}.",
            "reasoning": f"thinking {j}", "answer": f"So \\boxed{{{value}}}.", "verdict": verdict}


def test_pairs_all_correct_all_wrong_mixed_and_undecided(run_mathmind, tmp_path):
    right, wrong, mixed, unsure = "All right: 1+1?", "All wrong: 2+2?", "Mixed: 3+3?", "Unsure: 4+4?"
    rows = [judged_sample(right, j, 2, "accept", 2) for j in range(4)]
    rows += [judged_sample(wrong, j, 5 + j, "reject", 4) for j in range(4)]
    rows += [judged_sample(mixed, j, 6 if j < 2 else 7, "accept" if j < 2 else "reject", 6) for j in range(4)]
    rows += [judged_sample(unsure, j, "x", "undecided", 8) for j in range(4)]
    samples = write_jsonl(tmp_path / "judged.jsonl", rows)
    out = tmp_path / "pairs"
    result = run_mathmind("pairs", "--in", str(samples), "--out", str(out), "--name", "it2")
    assert result.returncode == 0, result.stderr
    assert "questions: 4; with student positives 2, negatives 2, both 1; all correct 1, all wrong 1, no verdict 1" in result.stderr
    assert "undecided samples left out: 4" in result.stderr
    counts = json.loads((out / "it2.summary.json").read_text())

    kto = read(out / "it2.kto.jsonl")
    by_question = {}
    for row in kto:
        assert [m["role"] for m in row["prompt"]] == ["user"] and [m["role"] for m in row["completion"]] == ["assistant"]
        by_question.setdefault(row["prompt"][0]["content"], []).append((row["completion"][0]["content"], row["label"]))
    # all correct: the teacher + 4 distinct student answers, and one negative borrowed from another question
    labels = [label for _, label in by_question[right]]
    assert labels.count(True) == 5 and labels.count(False) == 1
    borrowed = next(text for text, label in by_question[right] if not label)
    assert "\\boxed{2}" not in borrowed
    # all wrong: only the teacher is desirable; its 4 wrong answers are not
    assert [label for _, label in by_question[wrong]].count(True) == 1
    assert [label for _, label in by_question[wrong]].count(False) == 4
    assert by_question[wrong][0] == ("The answer is \\boxed{4}.", True)
    assert all(text.startswith("<think>\nthinking") for text, label in by_question[mixed] if text != "The answer is \\boxed{6}.")
    # undecided samples are left out; the teacher's answer stays, with a borrowed negative
    assert [label for _, label in by_question[unsure]] == [True, False]
    assert counts["kto_desirable"] == 5 + 1 + 3 + 1 and counts["kto_undesirable"] == 1 + 4 + 2 + 1

    dpo = read(out / "it2.dpo.jsonl")
    wrong_pairs = [p for p in dpo if p["prompt"][0]["content"] == wrong]
    assert len(wrong_pairs) == 4 and {p["chosen"][0]["content"] for p in wrong_pairs} == {"The answer is \\boxed{4}."}
    mixed_pairs = [p for p in dpo if p["prompt"][0]["content"] == mixed]
    assert len(mixed_pairs) == 2 and all("\\boxed{7}" in p["rejected"][0]["content"] for p in mixed_pairs)
    assert all("\\boxed{6}" in p["chosen"][0]["content"] for p in mixed_pairs)
    assert counts["dpo_pairs"] == len(dpo) == 1 + 4 + 2 + 1

    # Suggested weights bring weighted desirable:undesirable into TRL's 1:1..4:3
    d, u = counts["kto_desirable"], counts["kto_undesirable"]
    chosen_w, rejected_w = counts["suggested_kto_chosen_weight"], counts["suggested_kto_rejected_weight"]
    assert 1.0 <= d * chosen_w / (u * rejected_w) <= 4 / 3
    assert f"kto_chosen_weight: {chosen_w}" in result.stderr and f"{d}:{u}" in result.stderr

    info = json.loads((out / "dataset_info.json").read_text())
    assert info["it2_dpo"]["ranking"] is True and info["it2_dpo"]["columns"]["chosen"] == "chosen"
    assert info["it2_kto"]["columns"]["kto_tag"] == "label" and "ranking" not in info["it2_kto"]
    lf_dpo = json.loads((out / info["it2_dpo"]["file_name"]).read_text())
    assert lf_dpo[0]["chosen"]["from"] == "assistant" and lf_dpo[0]["conversations"][0]["from"] == "user"
    lf_kto = json.loads((out / info["it2_kto"]["file_name"]).read_text())
    assert len(lf_kto) == len(kto) and isinstance(lf_kto[0]["label"], bool)


def test_pairs_without_teacher_and_without_borrowing(run_mathmind, tmp_path):
    rows = [judged_sample("Q1", j, 1, "accept", 1) for j in range(2)] + [judged_sample("Q2", 0, 3, "reject", 2)]
    samples = write_jsonl(tmp_path / "judged.jsonl", rows)
    result = run_mathmind("pairs", "--in", str(samples), "--out", str(tmp_path / "p"), "--no-teacher", "--borrow-negatives", "0")
    assert result.returncode == 0, result.stderr
    kto = read(tmp_path / "p" / "orca.kto.jsonl")
    assert sorted(r["label"] for r in kto) == [False, True, True]     # Q2 has no positive without the teacher
    assert read(tmp_path / "p" / "orca.dpo.jsonl") == []


def test_pairs_bad_input_is_named(run_mathmind, tmp_path):
    samples = write_jsonl(tmp_path / "s.jsonl", [{"id": "a", "question": "q", "gold": "1", "answer": "1"}])
    result = run_mathmind("pairs", "--in", str(samples), "--out", str(tmp_path / "p"))
    assert result.returncode == 2 and "s.jsonl:1: missing field 'verdict'" in result.stderr


def test_pairs_killed_then_rerun_writes_whole_files_without_duplicates(run_mathmind, tmp_path):
    rows = [judged_sample(f"Question {i}: {i}+1?", j, i + 1 if j % 2 else i, "accept" if j % 2 else "reject", i + 1)
            for i in range(4000) for j in range(4)]
    samples = write_jsonl(tmp_path / "judged.jsonl", rows)
    out = tmp_path / "pairs"
    proc = subprocess.Popen([sys.executable, "-m", "mathmind", "pairs", "--in", str(samples), "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not out.exists():      # killed while it writes
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    for path in out.glob("*"):          # whatever a killed run left is whole (written by rename), never half
        if path.suffix == ".json":
            json.loads(path.read_text())
    rerun = run_mathmind("pairs", "--in", str(samples), "--out", str(out))
    assert rerun.returncode == 0, rerun.stderr
    clean = run_mathmind("pairs", "--in", str(samples), "--out", str(tmp_path / "clean"))
    assert clean.returncode == 0
    for name in ("orca.kto.jsonl", "orca.dpo.jsonl", "orca_kto.json", "orca_dpo.json"):
        assert (out / name).read_bytes() == (tmp_path / "clean" / name).read_bytes()
    kto = [json.dumps(r, sort_keys=True) for r in read(out / "orca.kto.jsonl")]
    assert len(kto) == len(set(kto)) == 4000 * 5                 # the teacher + 4 distinct samples per question
    assert not [p for p in out.iterdir() if p.name.startswith(".")]   # no temporary files left behind


# --- train: dpo / kto -----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pref_workdir(tmp_path_factory, tiny_model):
    """A tiny model and preference datasets made by `mathmind pairs` from judged samples."""
    import shutil

    from mathmind.cli import main

    work = tmp_path_factory.mktemp("pref")
    shutil.copytree(tiny_model, work / "models" / "tiny")
    rows = [judged_sample(f"Tom has {i} apples and gets 1 more. How many apples?", j, i + 1 if j < 2 else i + 2,
                          "accept" if j < 2 else "reject", i + 1) for i in range(12) for j in range(4)]
    write_jsonl(work / "judged.jsonl", rows)
    assert main(["pairs", "--in", str(work / "judged.jsonl"), "--out", str(work / "data" / "pairs"), "--name", "orca"]) == 0
    return work


def rendered_recipe(work, stage, **extra):
    """The recipe as `mathmind train` renders it for the trainer (absolute paths; no DeepSpeed: one process here)."""
    values = yaml.safe_load((ROOT / "recipes" / "tiny" / f"orca_{stage}.yaml").read_text())
    values.update(model_name_or_path=str(work / "models" / "tiny"), deepspeed=None, output_dir=str(work / f"out_{stage}"),
                  custom_dataset_info=str(work / "data" / "pairs" / "dataset_info.json"), **extra)
    path = work / f"{stage}.rendered.yaml"
    path.write_text(yaml.safe_dump({k: v for k, v in values.items() if v is not None}))
    return path


# Builds the trainer as the torchrun process does (one process, gloo) and prints what its first batch trains on.
BATCH_PROBE = """
import json, sys
from pathlib import Path
from mathmind.launch.preference import build_trainer
trainer, _ = build_trainer(Path(sys.argv[1]))
tokenizer = trainer.processing_class
batch = next(iter(trainer.get_train_dataloader()))
labels = batch["input_ids"].masked_fill(batch["completion_mask"] == 0, -100)   # what TRL's loss reads
rows = [{"answer": tokenizer.decode(ids[mask.bool()]), "context": tokenizer.decode(ids[att.bool() & ~mask.bool()]),
         "labelled": int((lab != -100).sum()), "masked": int(mask.sum())}
        for ids, mask, att, lab in zip(batch["input_ids"], batch["completion_mask"], batch["attention_mask"], labels)]
print("ROWS " + json.dumps(rows))
"""


@pytest.mark.parametrize("stage", ["dpo", "kto"])
def test_preference_loss_is_on_the_answer_tokens_only(pref_workdir, stage):
    recipe = rendered_recipe(pref_workdir, stage, per_device_train_batch_size=4)
    env = {**os.environ, "MATHMIND_DEVICE_KIND": "cpu", "WORLD_SIZE": "1", "RANK": "0", "LOCAL_RANK": "0",
           "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(29600 + (stage == "kto"))}
    probe = subprocess.run([sys.executable, "-c", BATCH_PROBE, str(recipe)], env=env, capture_output=True, text=True, timeout=300)
    assert probe.returncode == 0, probe.stderr[-3000:]
    rows = json.loads(probe.stdout.split("ROWS ", 1)[1])
    assert len(rows) >= 4
    for row in rows:
        assert "Tom has" in row["context"] and "Tom has" not in row["answer"]     # the question is never in the loss
        assert row["answer"].startswith(("The answer is", "<think>")) and row["answer"].rstrip().endswith("<|im_end|>")
        assert "<|im_start|>assistant" in row["context"]
        assert row["labelled"] == row["masked"] > 0


@pytest.mark.parametrize("stage", ["kto", "dpo"])
def test_preference_training_two_processes_zero2_resumes_from_checkpoint(run_mathmind, pref_workdir, stage):
    out = pref_workdir / f"run_{stage}"
    args = ["train", f"recipes/tiny/orca_{stage}.yaml", "--hardware", "cpu:2", f"model_name_or_path={pref_workdir / 'models' / 'tiny'}",
            f"custom_dataset_info={pref_workdir / 'data' / 'pairs' / 'dataset_info.json'}", f"output_dir={out}",
            "per_device_train_batch_size=2", "save_steps=1", "logging_steps=1"]
    first = run_mathmind(*args, "max_steps=2", cwd=str(ROOT), timeout=600)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert "-m mathmind.launch.preference" in first.stdout
    assert (out / "checkpoint-2" / "global_step2").is_dir()               # a DeepSpeed checkpoint
    second = run_mathmind(*args, "max_steps=3", cwd=str(ROOT), timeout=600)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert f"resuming from {out}/checkpoint-2" in second.stdout
    state = json.loads((out / "trainer_state.json").read_text())
    assert state["global_step"] == 3
    logged = [entry for entry in state["log_history"] if "loss" in entry]
    assert [entry["step"] for entry in logged] == [1, 2, 3]                # steps 1-2 kept from the first run
    assert any(key.startswith("rewards/") for key in logged[-1])
    assert any(p.name.startswith("rng_state_1") for p in (out / "checkpoint-3").iterdir())   # two ranks


def test_lora_dpo_with_an_sft_term_trains_an_adapter(run_mathmind, pref_workdir):
    out = pref_workdir / "run_lora_dpo"
    result = run_mathmind("train", "recipes/tiny/orca_dpo.yaml", "--hardware", "cpu:1", "finetuning_type=lora", "lora_rank=4",
                          "deepspeed=null", "pref_ftx=0.5", "max_steps=2", "logging_steps=1", "per_device_train_batch_size=2",
                          f"model_name_or_path={pref_workdir / 'models' / 'tiny'}", f"output_dir={out}",
                          f"custom_dataset_info={pref_workdir / 'data' / 'pairs' / 'dataset_info.json'}", cwd=str(ROOT), timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert json.loads((out / "adapter_config.json").read_text())["r"] == 4       # only the adapter was trained and saved
    assert not (out / "model.safetensors").exists()
    state = json.loads((out / "trainer_state.json").read_text())
    assert [entry["step"] for entry in state["log_history"] if "loss" in entry] == [1, 2]


def test_preference_dry_run_on_ascend_uses_torchrun_with_torch_npu(run_mathmind, pref_workdir):
    common = [f"model_name_or_path={pref_workdir / 'models' / 'tiny'}", f"output_dir={pref_workdir / 'dry'}",
              f"custom_dataset_info={pref_workdir / 'data' / 'pairs' / 'dataset_info.json'}"]
    for stage in ("kto", "dpo"):
        dry = run_mathmind("train", f"recipes/tiny/orca_{stage}.yaml", "--hardware", "npu:8", "--dry-run", *common, cwd=str(ROOT))
        assert dry.returncode == 0, dry.stderr
        assert "launcher: torchrun" in dry.stdout or "launcher: llamafactory" in dry.stdout
        if "launcher: torchrun" in dry.stdout:
            assert f"openMind 1.0 trains stage sft only: stage {stage} runs through torchrun with torch_npu" in dry.stdout
            assert "--nproc_per_node 8" in dry.stdout and "-m mathmind.launch.preference" in dry.stdout
    forced = run_mathmind("train", "recipes/tiny/orca_kto.yaml", "--hardware", "npu:8", "--dry-run", "--launcher", "openmind",
                          *common, cwd=str(ROOT))
    assert forced.returncode == 2 and "openMind 1.0 trains stage sft only" in forced.stderr


@pytest.mark.parametrize("override, message", [
    ("pref_loss=orpo", "'orpo' is not a loss of TRL's DPOTrainer"),
    ("pref_beta=-1", "pref_beta: -1 is out of range"),
    ("pref_bta=0.2", "did you mean 'pref_beta'"),
])
def test_preference_recipe_errors_are_named(run_mathmind, pref_workdir, override, message):
    result = run_mathmind("train", "recipes/tiny/orca_dpo.yaml", "--hardware", "cpu:1", "--dry-run", override,
                          f"model_name_or_path={pref_workdir / 'models' / 'tiny'}", f"output_dir={pref_workdir / 'dry'}",
                          f"custom_dataset_info={pref_workdir / 'data' / 'pairs' / 'dataset_info.json'}", cwd=str(ROOT))
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_kto_on_a_dpo_dataset_is_a_clear_error(pref_workdir):
    from mathmind.errors import UserError
    from mathmind.launch.preference import load_preference_rows

    recipe = rendered_recipe(pref_workdir, "kto", dataset="orca_dpo")
    with pytest.raises(UserError, match="stage kto needs a sharegpt preference dataset with a `kto_tag` column"):
        load_preference_rows(yaml.safe_load(recipe.read_text()), recipe)


# --- generate -----------------------------------------------------------------------------------------------

def test_generate_agents_lineage_drops_flags_and_resume(run_mathmind, tmp_path):
    seeds = write_jsonl(tmp_path / "seeds.jsonl", [
        {"question": "Tom has 3 apples and buys 4 more. How many apples does he have?", "answer": "7"},
        {"question": "Sue reads 5 pages a day for 2 days. How many pages? [[fault:500 x99]]", "answer": "10"},
        {"question": "A shelf has 2 red books and 1 blue book. How many books?", "answer": "3"}])
    test_set = write_jsonl(tmp_path / "gsm8k_test.jsonl",
                           [{"question": "Tom has 5 apples and buys 4 more. How many apples does he have?"}])
    failing_answers = tmp_path / "answer.txt"
    failing_answers.write_text("Solve: {question} [[fault:500 x99]]")
    out = tmp_path / "gen" / "new.jsonl"
    args = ["generate", "--questions", str(seeds), "--out", str(out), "--max-retries", "0", "--retry-base-delay", "0.01",
            "--no-progress", "--test", str(test_set)]
    with StandInTeacher(TeacherConfig()) as teacher:
        url = ["--base-url", teacher.url]
        first = run_mathmind(*args, *url, "--answer-prompt", str(failing_answers), env={"API_KEY": "k"})
        assert first.returncode == 1, first.stderr
        dropped = read(tmp_path / "gen" / "new.dropped.jsonl")
        assert read(out) == [] and dropped
        assert {d["reason"] for d in dropped if d["parent_id"] != "seeds.jsonl#1"} == {"teacher could not answer: 500 after 1 attempts"}
        assert [d["reason"] for d in dropped if d["parent_id"] == "seeds.jsonl#1"] == [
            "ask_me_anything: teacher failed: 500 after 1 attempts", "suggester_editor round 1: teacher failed: 500 after 1 attempts"]
        agent_calls = teacher.requests - sum(1 for d in dropped if d["reason"].startswith("teacher could not answer"))

        before = teacher.requests
        second = run_mathmind(*args, *url, "--max-answer-chars", "52", env={"API_KEY": "k"})
        assert second.returncode == 1, second.stderr          # seed 1's agent calls still fail
        new_answers = len(read(out)) + sum(1 for d in read(tmp_path / "gen" / "new.dropped.jsonl") if "longer than" in d["reason"])
        assert teacher.requests - before == 2 + new_answers   # only seed 1's two agent calls and the answers were asked
        assert agent_calls == 3 + 3 + 2 + 2 + 2               # ama x3; round 1: suggest x3 (seed 1 fails), edit x2; round 2: x2, x2
    kept = {r["id"]: r for r in read(out)}
    assert kept["seeds.jsonl#2~edit2"]["parent_id"] == "seeds.jsonl#2~edit1" and kept["seeds.jsonl#2~edit2"]["round"] == 2
    assert kept["seeds.jsonl#2~edit1"]["parent_id"] == "seeds.jsonl#2" and kept["seeds.jsonl#2~edit1"]["round"] == 1
    assert {r["agent"] for r in kept.values()} == {"ask_me_anything", "suggester_editor"}
    for r in kept.values():
        assert len(r["answer"]) <= 52 and r["gold"] in r["answer"] and r["prompt"] == "step_by_step"
    long = [d for d in read(tmp_path / "gen" / "new.dropped.jsonl") if "longer than 52 characters" in d["reason"]]
    assert {d["id"] for d in long} >= {"seeds.jsonl#0~edit1"}          # 3 + 4 + 3 = 10: a longer answer
    assert any(f.startswith("close to") and "gsm8k_test.jsonl:1" in f for f in kept["seeds.jsonl#0~ama1"]["flags"])
    assert any(f == "near-duplicate of seeds.jsonl#2~edit1" for f in kept["seeds.jsonl#2~edit2"]["flags"])
    # It feeds the next stages as it is: sample reads it as teacher records.
    from mathmind.distill.sample import teacher_questions
    assert len(teacher_questions(out, None)) == len(kept)
