"""`mathmind train --launcher llamafactory`: rendered launches, auto selection, and LLaMA-Factory itself training.

The real runs use LLaMA-Factory 0.9.5 from its own environment (.venv-llamafactory, built by
`make llamafactory-venv`): the four formats written by `mathmind convert`, 3 steps each on a tiny Qwen2
on the CPU, checked against the training example LLaMA-Factory prints (inputs and masked labels) and
the weights it saves.
"""

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml

from mathmind.hardware import simulate
from mathmind.launch.select import pick_launcher

ROOT = Path(__file__).resolve().parents[1]
LF_BIN = ROOT / ".venv-llamafactory" / "bin"
HAVE_LF = (LF_BIN / "llamafactory-cli").exists()
needs_llamafactory = pytest.mark.skipif(not HAVE_LF and not os.environ.get("MATHMIND_REQUIRE_LLAMAFACTORY"),
                                        reason="LLaMA-Factory's side environment is not built (make llamafactory-venv)")
# With LLaMA-Factory on PATH, dry runs check the keys against its argument dataclasses too.
LF_PATH = {"PATH": f"{LF_BIN}{os.pathsep}{os.environ['PATH']}"} if HAVE_LF else {}

SEED000_TURNS = [
    {"from": "human", "value": "计算 345 * 123 = ?"},
    {"from": "gpt", "value": "首先给出思考过程:这是一道简单的数学运算题目,考察的是两个整数的乘法。直接调用Python代码计算即可。"},
    {"from": "function_call", "value": "```python\ndef multiply(num1, num2):\n    return num1 * num2\n\nnum1 = 345\nnum2 = 123\n\n"
                                       "print(f'{num1} * {num2} = {multiply(num1, num2)}')\n```\n"},
    {"from": "observation", "value": "运行以上代码,输出会是: ```345 * 123 = 42435```"},
    {"from": "gpt", "value": "因此,345 * 123 = 42435"},
]


def pot_record(i, a, b, turns=None):
    turns = turns or [{"from": "gpt", "value": f"思考过程:计算 {a} * {b}。"},
                      {"from": "function_call", "value": f"```python\nprint({a} * {b})\n```"},
                      {"from": "observation", "value": "?"}, {"from": "gpt", "value": f"因此,答案是 {a * b}"}]
    return {"id": f"pot{i}", "question": f"计算 {a} * {b} = ?", "answer": "```json\n" + json.dumps(turns, ensure_ascii=False) + "\n```",
            "verdict": "accept"}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, tiny_model, run_mathmind_module):
    """A tiny model and the four formats converted and registered by `mathmind convert`."""
    from mathmind.problems import make_problems

    work = tmp_path_factory.mktemp("lf")
    shutil.copytree(tiny_model, work / "models" / "tiny")
    judged = [{"id": str(i), "question": p["question"], "reasoning": f"{p['work']}.", "answer": f"The answer is \\boxed{{{p['answer_number']}}}.",
               "verdict": "accept"} for i, p in enumerate(make_problems(8))]
    (work / "judged.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in judged))
    pot = [pot_record(0, 345, 123, SEED000_TURNS)] + [pot_record(i, i + 2, i + 7) for i in range(1, 8)]
    (work / "pot.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in pot))
    for fmt, src in (("openmind-cot", "judged"), ("sharegpt", "judged"), ("alpaca", "judged"), ("pot", "pot")):
        proc = run_mathmind_module("convert", "--in", f"{src}.jsonl", "--out", f"data/{fmt}.json", "--format", fmt,
                                   "--register", "data/dataset_info.json", "--name", fmt, cwd=str(work))
        assert proc.returncode == 0, proc.stderr
    return work


@pytest.fixture(scope="module")
def run_mathmind_module():
    import subprocess
    import sys

    def run(*args, env=None, cwd=None, timeout=600):
        return subprocess.run([sys.executable, "-m", "mathmind", *args], env={**os.environ, **(env or {})}, cwd=cwd,
                              timeout=timeout, capture_output=True, text=True)
    return run


def rendered_env(stdout):
    lines = stdout.split("environment (set by mathmind; everything else is inherited):\n", 1)[1].split("command:\n")[0]
    return dict(line.strip().split("=", 1) for line in lines.splitlines() if line.strip())


def rendered_recipe(stdout):
    path = stdout.split("recipe as launched: ", 1)[1].splitlines()[0]
    return yaml.safe_load(Path(path).read_text())


def test_auto_picks_llamafactory_for_preference_stages_on_ascend_only():
    npu, everything = simulate("npu:8"), (lambda exe: f"/usr/bin/{exe}")
    assert pick_launcher(npu, "sft", everything)[0] == "openmind"            # as before
    assert pick_launcher(npu, "dpo", everything)[0] == "llamafactory"        # openMind 1.0 is sft only
    assert pick_launcher(npu, "kto", everything)[0] == "llamafactory"
    no_lf = lambda exe: None if exe == "llamafactory-cli" else f"/usr/bin/{exe}"
    assert pick_launcher(npu, "dpo", no_lf) == ("torchrun", ["llamafactory-cli not found on PATH"])
    assert pick_launcher(simulate("cuda:8"), "dpo", everything)[0] == "torchrun"
    # pot data (tool-call turns): openMind 1.0 cannot train it, so auto passes it over
    assert pick_launcher(npu, "sft", everything, tool_calls=True) == \
        ("torchrun", ["openmind-cli passed over: it cannot train tool-call (pot) turns"])


def test_dry_run_two_node_8x910b(run_mathmind_module, workdir):
    proc = run_mathmind_module("train", "recipes/qwen1.5-32b/lora_pot.yaml", "--launcher", "llamafactory", "--hardware", "npu:8",
                               "--nnodes", "2", "--node-rank", "1", "--master-addr", "10.0.0.1", "--dry-run", "dataset=pot",
                               cwd=str(workdir), env={**LF_PATH, "HCCL_SOCKET_IFNAME": "eth1"})
    assert proc.returncode == 0, proc.stderr
    env = rendered_env(proc.stdout)
    assert (env["FORCE_TORCHRUN"], env["NPROC_PER_NODE"], env["NNODES"], env["NODE_RANK"], env["MASTER_ADDR"], env["MASTER_PORT"]) \
        == ("1", "8", "2", "1", "10.0.0.1", "29500")                        # LLaMA-Factory reads NODE_RANK, not RANK
    assert env["ASCEND_RT_VISIBLE_DEVICES"] == "0,1,2,3,4,5,6,7" and env["HCCL_CONNECT_TIMEOUT"] == "1200"
    assert env["HCCL_SOCKET_IFNAME"] == "eth1" and "RANK" not in env
    assert proc.stdout.split("command:\n", 1)[1].strip().startswith("llamafactory-cli train ")
    recipe = rendered_recipe(proc.stdout)
    assert recipe["lora_target"] == "q_proj,v_proj" and "lora_target_modules" not in recipe
    assert recipe["template"] == "qwen" and recipe["stage"] == "sft" and recipe["deepspeed"].endswith("ds_z3.json")
    assert "custom_dataset_info" not in recipe
    info = json.loads((Path(recipe["dataset_dir"]) / "dataset_info.json").read_text())
    assert info["pot"]["file_name"] == str(workdir / "data" / "pot.json") and "local_path" not in info["pot"]
    if HAVE_LF:
        assert "note: llamafactory-cli not found" not in proc.stdout


@pytest.mark.parametrize("recipe, dataset", [
    ("recipes/qwen1.5-32b/lora_pot.yaml", "pot"),              # seed 000
    ("recipes/yi-1.5-34b/lora_pot.yaml", "pot"),               # seed 001
    ("recipes/qwen2-7b-instruct/lora_answer.yaml", "alpaca"),  # seed 003
    ("recipes/qwen2-7b-instruct/lora_evaluate.yaml", "alpaca"),
])
def test_seed_recipes_render_for_every_launcher(run_mathmind_module, workdir, recipe, dataset):
    for launcher in ("llamafactory", "openmind", "torchrun"):
        proc = run_mathmind_module("train", recipe, "--launcher", launcher, "--hardware", "npu:8", "--dry-run",
                                   f"dataset={dataset}", cwd=str(workdir), env={**LF_PATH})
        if launcher == "openmind" and dataset == "pot":      # refused up front, not left to fail inside openmind-cli
            assert proc.returncode == 2 and "dataset pot: tool-call turns (function_call / observation), which openMind 1.0 " \
                                            "cannot train" in proc.stderr
            continue
        assert proc.returncode == 0, (launcher, proc.stdout[-2000:], proc.stderr)


@pytest.mark.parametrize("recipe", ["recipes/tiny/orca_dpo.yaml", "recipes/tiny/orca_kto.yaml"])
def test_preference_recipes_render_for_llamafactory(run_mathmind_module, workdir, recipe):
    """auto gives dpo/kto to LLaMA-Factory on Ascend: the recipes' keys must be LLaMA-Factory's."""
    proc = run_mathmind_module("train", recipe, "--hardware", "npu:8", "--dry-run", "model_name_or_path=models/tiny",
                               "dataset=sharegpt", "custom_dataset_info=data/dataset_info.json", cwd=str(workdir), env={**LF_PATH})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr
    assert proc.stdout.startswith("launcher: llamafactory" if HAVE_LF else "launcher: torchrun")
    if HAVE_LF:
        rendered = rendered_recipe(proc.stdout)
        assert rendered["stage"] == recipe.split("_")[-1].removesuffix(".yaml") and rendered["pref_beta"] == 0.1


def test_unknown_key_is_named_against_the_installed_llamafactory(run_mathmind_module, workdir):
    if not HAVE_LF:
        pytest.skip("needs LLaMA-Factory's environment to know its keys")
    proc = run_mathmind_module("train", "recipes/tiny/full_sft.yaml", "--launcher", "llamafactory", "--hardware", "cpu:1",
                               "--dry-run", "model_name_or_path=models/tiny", "dataset=sharegpt", "lora_rnak=8",
                               cwd=str(workdir), env=LF_PATH)
    assert proc.returncode == 2 and "lora_rnak: unknown key for LLaMA-Factory 0.9.5; did you mean 'lora_rank'?" in proc.stderr


def printed_example(stdout):
    """LLaMA-Factory's own print of the first tokenized example: (inputs, labels) as text."""
    block = stdout.split("training example:\n", 1)[1]
    inputs = block.split("inputs:\n", 1)[1].split("\nlabel_ids:\n", 1)[0]
    labels = block.split("\nlabels:\n", 1)[1].split("\n[INFO", 1)[0]
    return inputs.rstrip("\n"), labels.rstrip("\n")


def weights(path):
    from safetensors.torch import load_file
    return load_file(str(path / "model.safetensors"))


SYSTEM = "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
# Seed 000's function_call turn as the model learns it: the thinking, then Qwen's <tool_call> JSON.
POT_CALL = ('<think>\n首先给出思考过程:这是一道简单的数学运算题目,考察的是两个整数的乘法。直接调用Python代码计算即可。\n</think>\n\n'
            '<tool_call>\n{"name": "python", "arguments": {"code": "def multiply(num1, num2):\\n    return num1 * num2\\n\\n'
            'num1 = 345\\nnum2 = 123\\n\\nprint(f\'{num1} * {num2} = {multiply(num1, num2)}\')"}}\n</tool_call><|im_end|>')
POT_TURNS = ("<|im_start|>user\n计算 345 * 123 = ?<|im_end|>\n<|im_start|>assistant\n" + POT_CALL + "\n"
             "<|im_start|>user\n<tool_response>\n345 * 123 = 42435\n</tool_response><|im_end|>\n<|im_start|>assistant\n"
             "因此,345 * 123 = 42435<|im_end|>")
TOOLS_PROMPT = "\n\n# Tools\n\nYou may call one or more functions to assist with the user query."


def test_mathmind_trainer_sees_the_pot_sample_as_llamafactory_does(workdir):
    """The same sample through mathmind's trainer (TRL, recipes/templates/qwen.jinja): same turns, same trained tokens."""
    from importlib import resources

    from transformers import AutoTokenizer

    from mathmind.launch.sft import load_messages
    rows = load_messages({"dataset": "pot", "custom_dataset_info": str(workdir / "data" / "dataset_info.json")}, workdir / "r.yaml")
    [row] = [r for r in rows if r["messages"][0]["content"] == "计算 345 * 123 = ?"]
    assert row["messages"][1]["tool_calls"][0]["function"]["name"] == "python"
    tokenizer = AutoTokenizer.from_pretrained(workdir / "models" / "tiny")
    tokenizer.chat_template = resources.files("mathmind.recipes").joinpath("templates", "qwen.jinja").read_text()
    out = tokenizer.apply_chat_template(row["messages"], tools=json.loads(row["tools"]), return_dict=True,
                                        return_assistant_tokens_mask=True)
    text = tokenizer.decode(out["input_ids"])
    assert text.startswith("<|im_start|>system\nYou are a helpful assistant." + TOOLS_PROMPT)   # Qwen2's default system line
    assert text.endswith(POT_TURNS + "\n")
    trained = tokenizer.decode([t for t, m in zip(out["input_ids"], out["assistant_masks"]) if m])
    assert trained == POT_CALL + "因此,345 * 123 = 42435<|im_end|>"


@needs_llamafactory
@pytest.mark.parametrize("fmt", ["sharegpt", "alpaca", "openmind-cot", "pot"])
def test_llamafactory_trains_each_format(run_mathmind_module, workdir, fmt):
    out = workdir / "saves" / fmt
    proc = run_mathmind_module("train", "recipes/tiny/full_sft.yaml", "--launcher", "llamafactory", "--hardware", "cpu:1",
                               "model_name_or_path=models/tiny", f"dataset={fmt}", "deepspeed=null", "max_steps=3",
                               "cutoff_len=1024", "per_device_train_batch_size=2", f"output_dir={out}", cwd=str(workdir), env=LF_PATH)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    assert "Invalid role tag" not in proc.stdout and "Skipping this abnormal example" not in proc.stdout
    inputs, labels = printed_example(proc.stdout)
    first = json.loads((workdir / "data" / f"{fmt}.json").read_text())
    if fmt == "pot":     # LLaMA-Factory sorts nothing: its first example is the first sample, seed 000's
        assert inputs.startswith(SYSTEM[:-len("<|im_end|>\n")] + TOOLS_PROMPT)
        assert '"name": "python", "description": "Run a Python 3 program' in inputs and inputs.endswith(POT_TURNS)
        assert labels == POT_CALL + "\n因此,345 * 123 = 42435<|im_end|>"   # the tool response and the prompt are masked
    elif fmt == "openmind-cot":   # seed 002's long system prompt; the answer in Thought/Solution tags
        assert inputs.startswith("<|im_start|>system\nYour role as an assistant involves thoroughly exploring questions")
        assert labels.startswith("<|begin_of_thought|>") and "<|im_start|>" not in labels
    else:
        question = first[0]["instruction"] if fmt == "alpaca" else first[0]["conversations"][0]["value"]
        answer = first[0]["output"] if fmt == "alpaca" else first[0]["conversations"][1]["value"]
        assert inputs == f"{SYSTEM}<|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n{answer}<|im_end|>"
        assert labels == f"{answer}<|im_end|>" and answer.startswith("<think>\n")     # loss on the answer only
    assert json.loads((out / "trainer_state.json").read_text())["global_step"] == 3
    before, after = weights(workdir / "models" / "tiny"), weights(out)
    assert before.keys() == after.keys() and any(not before[k].equal(after[k]) for k in before)   # it trained


@needs_llamafactory
def test_llamafactory_failures_are_caught(run_mathmind_module, workdir):
    """The issue's case: seed 000's raw turns (gpt, function_call in a row) break LLaMA-Factory's alternation rule."""
    raw = [{"conversations": [{"from": t["from"], "value": t["value"]} for t in SEED000_TURNS]}]
    (workdir / "data" / "raw_pot.json").write_text(json.dumps(raw, ensure_ascii=False))
    info = json.loads((workdir / "data" / "dataset_info.json").read_text())
    info["raw_pot"] = {**info["pot"], "file_name": "raw_pot.json", "columns": {"messages": "conversations"}}
    (workdir / "data" / "dataset_info.json").write_text(json.dumps(info))
    proc = run_mathmind_module("train", "recipes/tiny/full_sft.yaml", "--launcher", "llamafactory", "--hardware", "cpu:1",
                               "model_name_or_path=models/tiny", "dataset=raw_pot", "deepspeed=null", "max_steps=3",
                               f"output_dir={workdir / 'saves' / 'raw'}", cwd=str(workdir), env=LF_PATH)
    assert proc.returncode == 1
    assert "mathmind train: llamafactory exited with" in proc.stderr and "Cannot find valid samples" in proc.stderr


@needs_llamafactory
def test_llamafactory_trains_dpo_from_pairs_shaped_data(run_mathmind_module, workdir):
    """The stage openMind lacks, through LLaMA-Factory: a preference dataset as `mathmind pairs` registers it."""
    from mathmind.convert.cli import Format, register
    from mathmind.convert.pairs import LF_TAGS

    pairs = [{"conversations": [{"from": "user", "value": f"What is {i} + {i}?"}],
              "chosen": {"from": "assistant", "value": f"The answer is \\boxed{{{2 * i}}}."},
              "rejected": {"from": "assistant", "value": f"The answer is \\boxed{{{2 * i + 1}}}."}} for i in range(8)]
    (workdir / "data" / "dpo.json").write_text(json.dumps(pairs))
    register(workdir / "data" / "dataset_info.json", "dpo", workdir / "data" / "dpo.json",
             Format(None, "sharegpt", {"messages": "conversations", "chosen": "chosen", "rejected": "rejected"}, LF_TAGS, ranking=True))
    out = workdir / "saves" / "dpo"
    proc = run_mathmind_module("train", "recipes/tiny/orca_dpo.yaml", "--launcher", "llamafactory", "--hardware", "cpu:1",
                               "model_name_or_path=models/tiny", "dataset=dpo", "custom_dataset_info=data/dataset_info.json",
                               "deepspeed=null", "max_steps=2", "logging_steps=1", "per_device_train_batch_size=2", f"output_dir={out}",
                               cwd=str(workdir), env=LF_PATH)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    assert "chosen_input_ids" in proc.stdout                 # LLaMA-Factory's own print of a pairwise example
    state = json.loads((out / "trainer_state.json").read_text())
    assert state["global_step"] == 2 and any("rewards/chosen" in entry for entry in state["log_history"])
