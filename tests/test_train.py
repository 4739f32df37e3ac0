"""mathmind train: recipe checks, rendered launches for every kind of machine, and real training on this CPU.

The real runs: a tiny Qwen2 built offline, trained by `mathmind train` under torchrun with 2 processes
(gloo) and DeepSpeed ZeRO-2, killed and resumed; LoRA + export; and openmind-cli itself from
openMind's own environment (.venv-openmind, built by `make openmind-venv`).
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
OPENMIND_BIN = ROOT / ".venv-openmind" / "bin"
SEED_RECIPE = "recipes/qwen2.5-7b-instruct/full_distill.yaml"


@pytest.fixture(scope="session")
def workdir(tmp_path_factory, tiny_model):
    """A folder with a tiny model, a registered sharegpt dataset and the seed 002 dataset name registered too."""
    from mathmind.problems import make_problems

    work = tmp_path_factory.mktemp("train")
    problems = make_problems(240)
    shutil.copytree(tiny_model, work / "models" / "tiny")
    data = [{"conversations": [{"from": "user", "value": p["question"]},
                               {"from": "assistant", "value": f"The answer is {p['answer_number']}."}]} for p in problems]
    (work / "data").mkdir()
    (work / "data" / "demo.json").write_text(json.dumps(data, ensure_ascii=False))
    entry = {"local_path": str(work / "data"), "file_name": "demo.json", "formatting": "sharegpt",
             "columns": {"messages": "conversations", "system": "system"},
             "tags": {"role_tag": "from", "content_tag": "value", "user_tag": "user", "assistant_tag": "assistant"}}
    (work / "data" / "dataset_info.json").write_text(json.dumps({"demo_sharegpt": entry, "DS_r1_answer": entry}))
    return work


def train(run_mathmind, workdir, *args, env=None):
    return run_mathmind("train", *args, cwd=str(workdir), env=env, timeout=600)


def rendered_env(stdout):
    lines = stdout.split("environment (set by mathmind; everything else is inherited):\n", 1)[1].split("command:\n")[0]
    return dict(line.strip().split("=", 1) for line in lines.splitlines() if line.strip())


def command_of(stdout):
    return stdout.split("command:\n", 1)[1].strip()


def test_dry_run_8x910b_openmind(run_mathmind, workdir):
    proc = train(run_mathmind, workdir, SEED_RECIPE, "--hardware", "npu:8", "--launcher", "openmind", "--dry-run",
                 env={"PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    env = rendered_env(proc.stdout)
    assert env["ASCEND_RT_VISIBLE_DEVICES"] == "0,1,2,3,4,5,6,7" and env["NPROC_PER_NODE"] == "8"
    assert env["HCCL_CONNECT_TIMEOUT"] == "1200" and env["HCCL_EXEC_TIMEOUT"] == "1800"
    assert env["PYTORCH_NPU_ALLOC_CONF"] == "expandable_segments:True" and env["TASK_QUEUE_ENABLE"] == "1"
    assert "NNODES" not in env and "RANK" not in env
    assert command_of(proc.stdout).startswith("openmind-cli train ") and "recipe.openmind.yaml" in proc.stdout
    assert "modelscope:Qwen/Qwen2.5-7B-Instruct is not in the local cache" in proc.stdout


def test_dry_run_two_node_ascend(run_mathmind, workdir):
    common = [SEED_RECIPE, "--hardware", "npu:8", "--dry-run", "--nnodes", "2", "--master-addr", "10.0.0.1"]
    om = train(run_mathmind, workdir, *common, "--node-rank", "1", "--launcher", "openmind", env={"HCCL_SOCKET_IFNAME": "eth1"})
    assert om.returncode == 0, om.stderr
    env = rendered_env(om.stdout)
    assert (env["NNODES"], env["RANK"], env["MASTER_ADDR"], env["MASTER_PORT"]) == ("2", "1", "10.0.0.1", "29500")
    assert env["HCCL_SOCKET_IFNAME"] == "eth1" and "NODE_RANK" not in env        # openMind reads RANK
    tr = train(run_mathmind, workdir, *common, "--node-rank", "0", "--launcher", "torchrun", "--if-ip", "10.0.0.1")
    assert tr.returncode == 0, tr.stderr
    assert "--nproc_per_node 8 --nnodes 2 --node_rank 0 --master_addr 10.0.0.1 --master_port 29500 -m mathmind.launch.sft" \
        in command_of(tr.stdout)
    assert rendered_env(tr.stdout)["HCCL_IF_IP"] == "10.0.0.1" and rendered_env(tr.stdout)["MATHMIND_DEVICE_KIND"] == "npu"
    bad = train(run_mathmind, workdir, *common[:-2], "--nnodes", "2", "--launcher", "torchrun")
    assert bad.returncode == 2 and "needs --master-addr" in bad.stderr


def test_dry_run_8x_cuda(run_mathmind, workdir):
    proc = train(run_mathmind, workdir, SEED_RECIPE, "--hardware", "cuda:8", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    env = rendered_env(proc.stdout)
    assert env["CUDA_VISIBLE_DEVICES"] == "0,1,2,3,4,5,6,7" and env["MATHMIND_DEVICE_KIND"] == "cuda"
    assert not any(k.startswith(("HCCL", "ASCEND")) for k in env)
    assert "--nproc_per_node 8 --standalone -m mathmind.launch.sft" in command_of(proc.stdout)


def test_slurm_script(run_mathmind, workdir):
    proc = train(run_mathmind, workdir, SEED_RECIPE, "--hardware", "npu:8", "--emit", "slurm", "--nodes", "4",
                 "--partition", "ascend")
    assert proc.returncode == 0, proc.stderr
    script = proc.stdout
    for line in ("#SBATCH --nodes=4", "#SBATCH --ntasks-per-node=1", "#SBATCH --gres=npu:8", "#SBATCH --partition=ascend",
                 'export MASTER_ADDR=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)'):
        assert line in script
    assert "--node-rank $SLURM_NODEID --master-addr $MASTER_ADDR" in script and "--hardware npu:8" in script
    path = workdir / "job.sbatch"
    path.write_text(script)
    assert subprocess.run(["bash", "-n", str(path)]).returncode == 0
    assert "#SBATCH --gres=gpu:8" in train(run_mathmind, workdir, SEED_RECIPE, "--hardware", "cuda:8", "--emit", "slurm").stdout


@pytest.mark.parametrize("override, message", [
    ("learning_rte=1e-5", "learning_rte: unknown key for mathmind's trainer (TRL SFTConfig + openMind keys); did you mean 'learning_rate'?"),
    ("dataset=nope", "dataset: 'nope' is not registered in data/dataset_info.json (registered: DS_r1_answer, demo_sharegpt)"),
    ("learning_rate=5", "learning_rate: 5 is out of range"),
    ("per_device_train_batch_size=two", "per_device_train_batch_size: expected an integer, got 'two'"),
    ("deepspeed=missing.json", "deepspeed: missing.json does not exist"),
    ("model_name_or_path=not a model", "model_name_or_path: not a model is neither a folder nor a hub id"),
    ("finetuning_type=qlora", "finetuning_type: expected one of full, lora"),
])
def test_recipe_errors_name_file_and_key(run_mathmind, workdir, override, message):
    proc = train(run_mathmind, workdir, "recipes/tiny/full_sft.yaml", "--hardware", "cpu:2", "--dry-run",
                 "model_name_or_path=models/tiny", override)
    assert proc.returncode == 2
    assert f"recipes/tiny/full_sft.yaml: {message}" in proc.stderr and "Traceback" not in proc.stderr


def read_state(output_dir):
    return json.loads((output_dir / "trainer_state.json").read_text())


def test_torchrun_two_processes_zero2_trains_resumes_and_reloads(run_mathmind, workdir):
    out = workdir / "saves" / "tiny"
    args = ["train", "recipes/tiny/full_sft.yaml", "--hardware", "cpu:2", "model_name_or_path=models/tiny",
            "max_steps=300", "save_steps=25", "logging_steps=10", f"output_dir={out}"]
    first = subprocess.Popen([sys.executable, "-m", "mathmind", *args], cwd=workdir, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, start_new_session=True)
    deadline = time.time() + 400
    while not (out / "checkpoint-50" / "trainer_state.json").exists():   # let one checkpoint finish writing
        assert first.poll() is None, first.stdout.read()[-3000:]
        assert time.time() < deadline, "no checkpoint appeared"
        time.sleep(0.2)
    os.killpg(first.pid, signal.SIGKILL)                                   # the whole job dies, as on a node failure
    first.wait()
    assert not (out / "trainer_state.json").exists()
    second = run_mathmind(*args, cwd=str(workdir), timeout=600)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert "resuming from" in second.stdout and "/checkpoint-" in second.stdout
    assert "deepspeed_shm_comm_op" in second.stdout or (out / "checkpoint-300" / "global_step300").is_dir()
    state = read_state(out)
    assert state["global_step"] == 300
    losses = [entry["loss"] for entry in state["log_history"] if "loss" in entry]
    assert losses[-1] < 0.5 * losses[0], losses                            # it learned
    assert any(p.name.startswith("rng_state_1") for p in (out / "checkpoint-300").iterdir())   # two ranks
    from transformers import AutoModelForCausalLM, AutoTokenizer
    model = AutoModelForCausalLM.from_pretrained(out)
    tokenizer = AutoTokenizer.from_pretrained(out)
    ids = tokenizer.apply_chat_template([{"role": "user", "content": "Tom has 3 apples"}], add_generation_prompt=True,
                                        return_tensors="pt", return_dict=True)
    assert model.generate(**ids, max_new_tokens=5).shape[1] > ids["input_ids"].shape[1]
    saved = json.loads((out / "tokenizer_config.json").read_text())     # loadable by transformers 4.45 (openMind)
    assert saved["tokenizer_class"] != "TokenizersBackend" and "{%- generation -%}" in saved["chat_template"]


def test_lora_then_export(run_mathmind, workdir):
    out = workdir / "saves" / "lora"
    proc = train(run_mathmind, workdir, "recipes/tiny/full_sft.yaml", "--hardware", "cpu:1", "model_name_or_path=models/tiny",
                 "max_steps=4", "deepspeed=null", f"output_dir={out}", "finetuning_type=lora", "lora_rank=4",
                 "lora_target_modules=q_proj,v_proj")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr
    assert (out / "adapter_config.json").is_file() and not (out / "model.safetensors").exists()
    merged = workdir / "saves" / "merged"
    exported = run_mathmind("export", "--adapter", str(out), "--out", str(merged), cwd=str(workdir))
    assert exported.returncode == 0, exported.stderr
    from transformers import AutoModelForCausalLM
    assert AutoModelForCausalLM.from_pretrained(merged).config.model_type == "qwen2"


needs_openmind = pytest.mark.skipif(
    not (OPENMIND_BIN / "openmind-cli").exists() and not os.environ.get("MATHMIND_REQUIRE_OPENMIND"),
    reason="openMind's side environment is not built (make openmind-venv)")


@needs_openmind
def test_openmind_cli_really_trains_and_its_silent_failures_are_caught(run_mathmind, workdir):
    env = {"PATH": f"{OPENMIND_BIN}:{os.environ['PATH']}"}
    out = workdir / "saves" / "om"
    common = ["recipes/tiny/full_sft.yaml", "--hardware", "cpu:1", "--launcher", "openmind", "model_name_or_path=models/tiny",
              "deepspeed=null", "max_steps=3"]
    proc = train(run_mathmind, workdir, *common, f"output_dir={out}", env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    assert "removed `template: qwen` (openMind 1.0.0 has no `template` key" in proc.stdout
    assert "added `model_group: qwen2`" in proc.stdout
    assert read_state(out)["global_step"] == 3
    builtin = train(run_mathmind, workdir, *common, "dataset=alpaca_zh_51k", "custom_dataset_info=null", "--dry-run", env=env)
    assert builtin.returncode == 0, builtin.stderr                         # openMind's own dataset_info knows it
    # openmind-cli exits 0 when training fails; mathmind must not.
    broken = workdir / "data" / "broken.json"
    broken.write_text(json.dumps([{"conversations": "not a list"}]))
    info = json.loads((workdir / "data" / "dataset_info.json").read_text())
    info["broken"] = {**info["demo_sharegpt"], "file_name": "broken.json"}
    (workdir / "data" / "broken_info.json").write_text(json.dumps(info))
    failed = train(run_mathmind, workdir, *common, f"output_dir={workdir / 'saves' / 'om_broken'}", "dataset=broken",
                   "custom_dataset_info=data/broken_info.json", env=env)
    assert failed.returncode == 1
    assert "training failed although openmind-cli exited 0" in failed.stderr


def test_convert_reports_token_lengths_with_the_tiny_tokenizer(run_mathmind, workdir):
    src = workdir / "judged.jsonl"
    src.write_text("".join(json.dumps({"id": str(i), "question": "Tom has 3 apples and buys 4 more. How many?",
                                       "answer": "The answer is 7." * (i + 1), "verdict": "accept"}) + "\n" for i in range(5)))
    proc = run_mathmind("convert", "--in", str(src), "--out", str(workdir / "data" / "len.json"), "--format", "sharegpt",
                        "--tokenizer", str(workdir / "models" / "tiny"), "--cutoff-len", "30")
    assert proc.returncode == 0, proc.stderr
    assert "tokens per sample: min" in proc.stderr and "samples are longer than cutoff_len 30" in proc.stderr


def loss_drop(run_mathmind, workdir, name, *overrides):
    """Mean loss of the first 5 steps minus the last 5 (the same batches in every run: same seed and data order)."""
    out = workdir / "saves" / name
    proc = train(run_mathmind, workdir, "recipes/tiny/full_sft.yaml", "--hardware", "cpu:1", "model_name_or_path=models/tiny",
                 "deepspeed=null", "max_steps=40", "learning_rate=2e-5", "lr_scheduler_type=constant", "warmup_ratio=0",
                 "logging_steps=1", "save_strategy=no", f"output_dir={out}", *overrides)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    losses = [e["loss"] for e in read_state(out)["log_history"] if "loss" in e]
    return sum(losses[:5]) / 5 - sum(losses[-5:]) / 5


def test_bf16_without_deepspeed_learns_like_fp32(run_mathmind, workdir):
    """bf16 without DeepSpeed must keep fp32 master weights: updates at fine-tuning rates are below bf16's spacing."""
    fp32 = loss_drop(run_mathmind, workdir, "prec_fp32", "bf16=false")
    bf16 = loss_drop(run_mathmind, workdir, "prec_bf16", "bf16=true")
    assert fp32 > 0.02, fp32
    assert bf16 >= 0.8 * fp32, (bf16, fp32)


def test_cpu_requested_on_a_gpu_machine_launches_processes_that_see_no_gpu(run_mathmind, workdir, tmp_path):
    """The demo's `cpu:2` on a 1-GPU machine: rank 1 died with 'invalid device ordinal' when the GPU showed through."""
    from fakes import fake_torch
    from mathmind.hardware import detect

    proc = train(run_mathmind, workdir, "recipes/tiny/full_sft.yaml", "--hardware", "cpu:2", "model_name_or_path=models/tiny",
                 "--dry-run", env={"CUDA_VISIBLE_DEVICES": "0"})
    assert proc.returncode == 0, proc.stderr
    env = rendered_env(proc.stdout)
    assert (env["CUDA_VISIBLE_DEVICES"], env["ASCEND_RT_VISIBLE_DEVICES"], env["DS_ACCELERATOR"]) == ("", "", "cpu")
    gpu_machine = {**os.environ, "PYTHONPATH": str(fake_torch(tmp_path / "site", "2.11.0+cu130", cuda_devices=1))}
    assert detect(environ=gpu_machine).kind == "cuda"
    assert detect(environ={**gpu_machine, **env}).kind == "cpu"          # what a launched process sees


def test_one_gpu_of_eight_is_one_process_on_one_gpu(run_mathmind, workdir, tmp_path):
    from fakes import fake_torch
    from mathmind.hardware import detect

    proc = train(run_mathmind, workdir, SEED_RECIPE, "--hardware", "cuda:1", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    env = rendered_env(proc.stdout)
    assert env["CUDA_VISIBLE_DEVICES"] == "0" and "--nproc_per_node 1 " in command_of(proc.stdout)
    machine = {**os.environ, "PYTHONPATH": str(fake_torch(tmp_path / "site", "2.11.0+cu130", cuda_devices=8))}
    seen = detect(environ={**machine, **env})
    assert (seen.kind, seen.count) == ("cuda", 1)


def training_recipes():
    from mathmind.launch.recipe import shipped
    root = shipped(Path("recipes/tiny/full_sft.yaml")).parents[1]
    return sorted(p for p in root.rglob("*.yaml") if "stage" in (yaml.safe_load(p.read_text()) or {}))


@pytest.mark.parametrize("recipe", training_recipes(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_shipped_recipe_checkpoints_often_enough_to_resume(recipe):
    """At least 4 checkpoints per run: save_steps a ratio <= 0.25 of the run, or max_steps >= 4 x save_steps;
    and a re-run resumes (overwrite_output_dir: true would start fresh)."""
    values = yaml.safe_load(recipe.read_text())
    assert values.get("save_strategy", "steps") == "steps" and not values.get("overwrite_output_dir"), recipe
    save = values.get("save_steps", 500)
    if save < 1:
        assert save <= 0.25, recipe
    else:
        assert values.get("max_steps", -1) >= 4 * save, f"{recipe}: save_steps {save} with max_steps {values.get('max_steps')}"


def test_training_depends_on_the_data_and_seed_not_on_the_order_distill_wrote_it(run_mathmind, workdir):
    """A concurrent distill writes answers in arrival order; two runs over the same samples must train identically."""
    data = json.loads((workdir / "data" / "demo.json").read_text())
    info = json.loads((workdir / "data" / "dataset_info.json").read_text())
    info["reordered"] = {**info["demo_sharegpt"], "file_name": "reordered.json"}
    (workdir / "data" / "reordered.json").write_text(json.dumps(list(reversed(data))))
    (workdir / "data" / "order_info.json").write_text(json.dumps(info))
    losses = []
    for name in ("demo_sharegpt", "reordered"):
        out = workdir / "saves" / f"order_{name}"
        proc = train(run_mathmind, workdir, "recipes/tiny/full_sft.yaml", "--hardware", "cpu:1", "model_name_or_path=models/tiny",
                     "deepspeed=null", "max_steps=4", "logging_steps=1", "save_strategy=no", f"dataset={name}",
                     "custom_dataset_info=data/order_info.json", f"output_dir={out}")
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr
        losses.append([e["loss"] for e in read_state(out)["log_history"] if "loss" in e])
    assert len(losses[0]) == 4 and losses[0] == losses[1]
