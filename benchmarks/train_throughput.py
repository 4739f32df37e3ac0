"""Training throughput of `mathmind train` against plain TRL, in one run, on this machine's CPU or one GPU/NPU.

CPU mode (default without an accelerator; tiny Qwen2, batch 8, max_length 512, 1 process, no DeepSpeed):
  1. tokens/s of `mathmind train` and of a plain TRL SFTTrainer script, same model, data and settings,
     alternated A B A B A B; target ratio >= 0.97;
  2. pad share of the real dataloader (60 batches) for random order, `group_by_length` and packing.

Accelerator mode (default when `mathmind doctor` finds a GPU/NPU; one device): a Qwen2.5-1.5B-shaped model
(config only, random weights, vocab 151936: no hub needed), chain-of-thought-length samples (median ~2k
tokens, cut at 4096), batch 4, bf16, answer-only loss. Settings, each its own process:
  plain TRL SFTTrainer (bf16 autocast, its defaults: gradient checkpointing on, padded batches),
  mathmind defaults (fp32 master weights, attention and fused kernels from mathmind.hardware,
  checkpointing only when memory needs it), mathmind + `neat_packing`, mathmind + `neat_packing` under
  ZeRO-2 (the shipped recipes' DeepSpeed config).
Per setting: tokens/s (real, non-pad tokens from the trainer's own count over its train_runtime),
MFU = 6 x parameters x tokens/s / the device's peak bf16 FLOPS, and peak device memory.
Goal on one H100: >= 40% MFU and >= 2x plain TRL's tokens/s.

    python benchmarks/train_throughput.py                      # picks the mode from the hardware
    python benchmarks/train_throughput.py --mode accel --steps 40 --peak-tflops 989 --out bench.json
    python benchmarks/train_throughput.py --mode accel --shape tiny --hardware cpu:1 --steps 3   # harness check on a CPU
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

STEPS_PER_SAMPLE_MAX = 14
# Dense bf16 peak per device (TFLOPS), by a name fragment as the device reports it.
PEAK_TFLOPS = {"H100": 989.4, "H200": 989.4, "H800": 989.4, "A100": 312.0, "A800": 312.0, "L40S": 362.0}
SHAPES = {   # Qwen2.5-1.5B's config; `tiny` runs the accelerator harness on a CPU
    "1.5b": dict(hidden_size=1536, intermediate_size=8960, num_hidden_layers=28, num_attention_heads=12,
                 num_key_value_heads=2, vocab_size=151936, tie_word_embeddings=True, rope_theta=1e6,
                 max_position_embeddings=32768),
    "tiny": dict(hidden_size=128, intermediate_size=512, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=2, vocab_size=2048, tie_word_embeddings=True, max_position_embeddings=8192),
}
ACCEL_SETTINGS = {   # label -> recipe overrides (None: the plain TRL script)
    "plain TRL SFTTrainer": None,
    "mathmind": {},
    "mathmind, neat_packing": {"neat_packing": True},
    "mathmind, neat_packing, ZeRO-2": {"neat_packing": True, "deepspeed": "recipes/deepspeed/ds_z2.json"},
}


def write_dataset(root: Path, rows: list[dict]) -> Path:
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    (data / "bench.json").write_text(json.dumps(rows))
    (data / "dataset_info.json").write_text(json.dumps({"bench": {
        "local_path": str(data), "file_name": "bench.json", "formatting": "sharegpt",
        "columns": {"messages": "conversations"},
        "tags": {"role_tag": "from", "content_tag": "value", "user_tag": "user", "assistant_tag": "assistant"}}}))
    return data


def sample(rng: random.Random, steps: int) -> dict:
    lines = [f"{rng.randint(1, 99)} + {rng.randint(1, 99)} = {rng.randint(2, 198)}" for _ in range(steps)]
    question = f"Add up these numbers: {' '.join(str(rng.randint(1, 99)) for _ in range(rng.randint(2, 6)))}"
    return {"conversations": [{"from": "user", "value": question},
                              {"from": "assistant", "value": "<think>\n" + "\n".join(lines) + "\n</think>\n\nThe answer is 42."}]}


def make_data(root: Path, n: int = 800) -> Path:
    """Answers of 1 to 14 worked steps: lengths vary as real CoT lengths do (CPU mode)."""
    rng = random.Random(0)
    return write_dataset(root, [sample(rng, rng.randint(1, STEPS_PER_SAMPLE_MAX)) for _ in range(n)])


def make_cot_data(root: Path, n: int) -> Path:
    """Chain-of-thought lengths: log-normal with a median of ~2k tokens (one step line is ~12 tokens)."""
    rng = random.Random(0)
    return write_dataset(root, [sample(rng, max(4, min(700, int(rng.lognormvariate(math.log(2000 / 12), 0.6)))))
                                for _ in range(n)])


COMMON = {"per_device_train_batch_size": 8, "learning_rate": 1e-3, "logging_steps": 10, "seed": 0, "report_to": "none",
          "save_strategy": "no", "bf16": False}

PLAIN_TRL = r"""
import json, os, sys
from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import SFTConfig, SFTTrainer
from mathmind.hardware.runtime import peak_memory_bytes, prepare_runtime
spec = prepare_runtime()
model_dir, data_file, out, steps, common = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), json.loads(sys.argv[5])
rows = json.load(open(data_file))
ds = Dataset.from_list([{"messages": [{"role": t["from"], "content": t["value"]} for t in r["conversations"]]} for r in rows])
tok = AutoTokenizer.from_pretrained(model_dir)
config = SFTConfig(output_dir=out, max_steps=steps, assistant_only_loss=True, **spec.trainer_args, **common)
trainer = SFTTrainer(model=model_dir, args=config, train_dataset=ds, processing_class=tok)
metrics = trainer.train().metrics
peak = peak_memory_bytes(spec)
print("RESULT", json.dumps({"runtime": metrics["train_runtime"], "peak_memory_gib": peak / 1024**3 if peak else None,
                            "num_tokens": max(e.get("num_tokens", 0) for e in trainer.state.log_history)}))
"""


def mathmind_run(root: Path, model: Path, steps: int, tag: str, hardware: str = "cpu:1", common: dict | None = None,
                 **overrides: object) -> dict:
    out = root / f"mm_{tag}"
    settings = {**(common or COMMON), "deepspeed": None, "max_steps": steps, **overrides}
    proc = subprocess.run([sys.executable, "-m", "mathmind", "train", "recipes/tiny/full_sft.yaml", "--hardware", hardware,
                           f"model_name_or_path={model}", "dataset=bench", f"custom_dataset_info={root / 'data' / 'dataset_info.json'}",
                           f"output_dir={out}", *[f"{k}={json.dumps(v)}" for k, v in settings.items()]],
                          capture_output=True, text=True)
    if proc.returncode:
        sys.exit(proc.stdout[-3000:] + proc.stderr[-3000:])
    log = json.loads((out / "trainer_state.json").read_text())["log_history"]
    results = json.loads((out / "train_results.json").read_text())
    shutil.rmtree(out, ignore_errors=True)
    notes = [line.removeprefix("mathmind: ") for line in proc.stdout.splitlines()
             if line.startswith("mathmind: ") and ("attention" in line or "checkpointing" in line)]
    return {"tokens_per_s": max(e.get("num_tokens", 0) for e in log) / results["train_runtime"],
            "peak_memory_gib": results.get("peak_memory_gib"), "notes": notes}


def trl_run(root: Path, model: Path, steps: int, tag: str, env: dict | None = None, common: dict | None = None) -> dict:
    proc = subprocess.run([sys.executable, "-c", PLAIN_TRL, str(model), str(root / "data" / "bench.json"), str(root / f"trl_{tag}"),
                           str(steps), json.dumps(common or COMMON)], capture_output=True, text=True, env={**os.environ, **(env or {})})
    line = next((l for l in proc.stdout.splitlines() if l.startswith("RESULT ")), None)
    if proc.returncode or line is None:
        sys.exit(proc.stdout[-3000:] + proc.stderr[-3000:])
    result = json.loads(line[7:])
    shutil.rmtree(root / f"trl_{tag}", ignore_errors=True)
    return {"tokens_per_s": result["num_tokens"] / result["runtime"], "peak_memory_gib": result["peak_memory_gib"], "notes": []}


def pad_share(model: Path, data: Path, **extra: object) -> float:
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    rows = json.loads((data / "bench.json").read_text())
    ds = Dataset.from_list([{"messages": [{"role": t["from"], "content": t["value"]} for t in r["conversations"]]} for r in rows])
    with tempfile.TemporaryDirectory() as out:
        config = SFTConfig(output_dir=out, max_length=512, use_cpu=True, assistant_only_loss=True, **{**COMMON, **extra})
        trainer = SFTTrainer(model=AutoModelForCausalLM.from_pretrained(model), args=config, train_dataset=ds,
                             processing_class=AutoTokenizer.from_pretrained(model))
        pads = total = 0
        for i, batch in enumerate(trainer.get_train_dataloader()):
            if i == 60:
                break
            if "attention_mask" in batch:
                pads += int((batch["attention_mask"] == 0).sum())
                total += batch["attention_mask"].numel()
            else:   # padding-free: one row of concatenated sequences, nothing padded
                total += batch["input_ids"].numel()
    return pads / total


def tiny_model(root: Path, data: Path):
    from mathmind.problems import make_problems
    from mathmind.tiny import build_tiny_model

    return build_tiny_model(root / "tiny", [json.dumps(json.loads((data / "bench.json").read_text())[:200])]
                            + [p["question"] for p in make_problems(200)], hidden_size=256, layers=4)


def cpu_mode(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = make_data(root)
        model = tiny_model(root, data)
        common = {**COMMON, "cutoff_len": 512}
        mm, trl = [], []
        for tag in ("a", "b", "c"):
            mm.append(mathmind_run(root, model, args.steps, tag, common=common)["tokens_per_s"])
            trl.append(trl_run(root, model, args.steps, tag, common={**COMMON, "max_length": 512})["tokens_per_s"])
        print(f"tokens/s, {args.steps} steps of batch 8 on this machine's CPU (1 process), runs alternated:")
        print(f"  plain TRL SFTTrainer   {statistics.median(trl):9.0f}   ({', '.join(f'{x:.0f}' for x in trl)})")
        print(f"  mathmind train         {statistics.median(mm):9.0f}   ({', '.join(f'{x:.0f}' for x in mm)})")
        print(f"  ratio mathmind / TRL   {statistics.median(mm) / statistics.median(trl):9.3f}   (target >= 0.97)")
        print("pad share per batch (real dataloader, 60 batches of 8, max_length 512):")
        for label, extra in (("random order (default)", {}), ("group_by_length", {"train_sampling_strategy": "group_by_length"}),
                             ("packing (bfd, padding-free)", {"packing": True})):
            print(f"  {label:<28} {pad_share(model, data, **extra):7.1%}")


def shaped_model(root: Path, data: Path, shape: str) -> tuple[Path, int]:
    """The tiny tokenizer (one token per digit) with a model of `shape`: random weights, saved in bf16."""
    import torch
    from transformers import AutoConfig, Qwen2Config, Qwen2ForCausalLM

    model_dir = tiny_model(root, data)
    tiny = AutoConfig.from_pretrained(model_dir)
    config = Qwen2Config(**SHAPES[shape], bos_token_id=tiny.bos_token_id, eos_token_id=tiny.eos_token_id,
                         pad_token_id=tiny.pad_token_id)
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(config).to(torch.bfloat16)
    for old in model_dir.glob("model*.safetensors*"):
        old.unlink()
    model.save_pretrained(model_dir)
    return model_dir, sum(p.numel() for p in model.parameters())


def accel_mode(args: argparse.Namespace) -> None:
    from mathmind.hardware import detect, launch_env, simulate

    hw = simulate(args.hardware) if args.hardware else detect()
    if hw.kind == "cpu" and args.shape != "tiny":
        sys.exit("accelerator mode needs a GPU or NPU (or --shape tiny --hardware cpu:1 to check the harness)")
    hardware = f"{hw.kind}:1"
    peak = args.peak_tflops or next((v for k, v in PEAK_TFLOPS.items() if k in (hw.names or [""])[0]), None)
    env = {**launch_env(simulate(hardware), os.environ), "MATHMIND_DEVICE_KIND": hw.kind}
    common = {"per_device_train_batch_size": 4, "learning_rate": 1e-5, "logging_steps": 5, "seed": 0, "report_to": "none",
              "save_strategy": "no", "bf16": True, "warmup_steps": 0}
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        root = Path(tmp)
        data = make_cot_data(root, max(400, 4 * args.steps * 4))
        model, params = shaped_model(root, data, args.shape)
        results = {}
        for label, overrides in ACCEL_SETTINGS.items():
            print(f"running: {label}", file=sys.stderr, flush=True)
            if overrides is None:
                results[label] = trl_run(root, model, args.steps, "trl", env=env, common={**common, "max_length": 4096})
            else:
                results[label] = mathmind_run(root, model, args.steps, label.replace(" ", "_").replace(",", ""), hardware,
                                              common={**common, "cutoff_len": 4096}, **overrides)
    base = results["plain TRL SFTTrainer"]["tokens_per_s"]
    device = f"{hw.names[0] if hw.names else hw.kind}" + ("" if peak else " (peak unknown: pass --peak-tflops for MFU)")
    print(f"\n{args.shape} shape ({params / 1e9:.2f}B parameters), batch 4, cutoff 4096, bf16, {args.steps} steps, one {device}:\n")
    print("| setting | tokens/s | vs plain TRL | MFU | peak memory (GiB) | mathmind chose |")
    print("|---|---|---|---|---|---|")
    for label, r in results.items():
        mfu = f"{6 * params * r['tokens_per_s'] / (peak * 1e12):.1%}" if peak else "-"
        memory = f"{r['peak_memory_gib']:.1f}" if r["peak_memory_gib"] is not None else "-"
        print(f"| {label} | {r['tokens_per_s']:,.0f} | {r['tokens_per_s'] / base:.2f}x | {mfu} | {memory} | {'; '.join(r['notes'])} |")
    if args.out:
        args.out.write_text(json.dumps({"device": device, "shape": args.shape, "parameters": params, "steps": args.steps,
                                        "peak_tflops": peak, "results": results}, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("auto", "cpu", "accel"), default="auto",
                        help="auto (default): accel when mathmind finds a GPU/NPU, else cpu")
    parser.add_argument("--steps", type=int, default=None, help="training steps per run (default 60 on CPU, 40 on an accelerator)")
    parser.add_argument("--peak-tflops", type=float, default=None, help="device peak bf16 TFLOPS for MFU (H100/H200/A100 known)")
    parser.add_argument("--shape", choices=tuple(SHAPES), default="1.5b", help="accelerator mode's model shape (default 1.5b)")
    parser.add_argument("--hardware", default=None, help="accelerator mode: KIND:1 instead of detecting")
    parser.add_argument("--workdir", default=None, help="where the random-weight model and data are written (default: temp)")
    parser.add_argument("--out", type=Path, default=None, help="accelerator mode: also write the results as JSON")
    args = parser.parse_args()
    if args.mode == "auto":
        from mathmind.hardware import detect

        args.mode = "cpu" if detect().kind == "cpu" else "accel"
    args.steps = args.steps or (60 if args.mode == "cpu" else 40)
    (cpu_mode if args.mode == "cpu" else accel_mode)(args)


if __name__ == "__main__":
    main()
