"""Training throughput of `mathmind train` against plain TRL, and the share of pad tokens per batch.

1. tokens/s: the same tiny Qwen2, data, and settings (batch 8, max_length 512, answer-only loss, 1 process,
   no DeepSpeed) trained by `mathmind train` (its TRL-based trainer, launched as users launch it) and by a
   plain TRL SFTTrainer script, alternated A B A B; tokens/s from each trainer's own train metrics
   (steady-state training, start-up excluded). Target: ratio >= 0.97.
2. pad share: the real training dataloader (attention-mask zeros over all positions, 60 batches) for
   the default random order, `group_by_length: true`, and `packing: true` (TRL's best-fit packing with
   padding-free batches). Target: < 5% with grouping or packing.
With --peak-tflops (a GPU/NPU's peak) it also prints MFU: 6 x parameters x tokens/s over the peak.
The process count is 1, so tokens/s is per device.

    python benchmarks/train_throughput.py [--steps 60] [--peak-tflops 313]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

STEPS_PER_SAMPLE_MAX = 14


def make_data(root: Path, n: int = 800) -> Path:
    """Sharegpt samples whose answers have 1 to 14 worked steps: lengths vary as real CoT lengths do."""
    rng = random.Random(0)
    rows = []
    for _ in range(n):
        steps = [f"{rng.randint(1, 99)} + {rng.randint(1, 99)} = {rng.randint(2, 198)}" for _ in range(rng.randint(1, STEPS_PER_SAMPLE_MAX))]
        rows.append({"conversations": [{"from": "user", "value": f"Add up these numbers: {' '.join(str(rng.randint(1, 99)) for _ in range(rng.randint(2, 6)))}"},
                                       {"from": "assistant", "value": "<think>\n" + "\n".join(steps) + "\n</think>\n\nThe answer is 42."}]})
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    (data / "bench.json").write_text(json.dumps(rows))
    (data / "dataset_info.json").write_text(json.dumps({"bench": {
        "local_path": str(data), "file_name": "bench.json", "formatting": "sharegpt",
        "columns": {"messages": "conversations"},
        "tags": {"role_tag": "from", "content_tag": "value", "user_tag": "user", "assistant_tag": "assistant"}}}))
    return data


COMMON = {"per_device_train_batch_size": 8, "learning_rate": 1e-3, "logging_steps": 10, "seed": 0, "report_to": "none",
          "save_strategy": "no", "bf16": False}

PLAIN_TRL = r"""
import json, sys
from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import SFTConfig, SFTTrainer
model_dir, data_file, out, steps, common = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), json.loads(sys.argv[5])
rows = json.load(open(data_file))
role = {"user": "user", "assistant": "assistant"}
ds = Dataset.from_list([{"messages": [{"role": role[t["from"]], "content": t["value"]} for t in r["conversations"]]} for r in rows])
tok = AutoTokenizer.from_pretrained(model_dir)
config = SFTConfig(output_dir=out, max_steps=steps, max_length=512, assistant_only_loss=True, use_cpu=True, **common)
trainer = SFTTrainer(model=AutoModelForCausalLM.from_pretrained(model_dir), args=config, train_dataset=ds, processing_class=tok)
metrics = trainer.train().metrics
print("RESULT", json.dumps({"runtime": metrics["train_runtime"], "num_tokens": max(e.get("num_tokens", 0) for e in trainer.state.log_history)}))
"""


def mathmind_run(root: Path, model: Path, steps: int, tag: str) -> float:
    out = root / f"mm_{tag}"
    overrides = [f"{k}={v}" for k, v in COMMON.items()]
    proc = subprocess.run([sys.executable, "-m", "mathmind", "train", "recipes/tiny/full_sft.yaml", "--hardware", "cpu:1",
                           f"model_name_or_path={model}", "deepspeed=null", f"max_steps={steps}", "cutoff_len=512", "dataset=bench",
                           f"custom_dataset_info={root / 'data' / 'dataset_info.json'}", f"output_dir={out}", *overrides],
                          capture_output=True, text=True)
    if proc.returncode:
        sys.exit(proc.stdout[-3000:] + proc.stderr[-3000:])
    log = json.loads((out / "trainer_state.json").read_text())["log_history"]
    tokens = max(e.get("num_tokens", 0) for e in log)
    runtime = next(e["train_runtime"] for e in log if "train_runtime" in e)
    return tokens / runtime


def trl_run(root: Path, model: Path, steps: int, tag: str) -> float:
    proc = subprocess.run([sys.executable, "-c", PLAIN_TRL, str(model), str(root / "data" / "bench.json"), str(root / f"trl_{tag}"),
                           str(steps), json.dumps(COMMON)], capture_output=True, text=True)
    line = next((l for l in proc.stdout.splitlines() if l.startswith("RESULT ")), None)
    if proc.returncode or line is None:
        sys.exit(proc.stdout[-3000:] + proc.stderr[-3000:])
    result = json.loads(line[7:])
    return result["num_tokens"] / result["runtime"]


def pad_share(model: Path, data: Path, **extra: object) -> float:
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    rows = json.loads((data / "bench.json").read_text())
    ds = Dataset.from_list([{"messages": [{"role": t["from"], "content": t["value"]} for t in r["conversations"]]} for r in rows])
    with tempfile.TemporaryDirectory() as out:
        config = SFTConfig(output_dir=out, max_length=512, use_cpu=True, assistant_only_loss=not extra.get("packing"),
                           **{**COMMON, **extra})
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--peak-tflops", type=float, default=None)
    args = parser.parse_args()
    from mathmind.problems import make_problems
    from mathmind.tiny import build_tiny_model

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = make_data(root)
        model = build_tiny_model(root / "tiny", [json.dumps(json.loads((data / "bench.json").read_text())[:200])]
                                 + [p["question"] for p in make_problems(200)], hidden_size=256, layers=4)
        mm, trl = [], []
        for tag in ("a", "b", "c"):
            mm.append(mathmind_run(root, model, args.steps, tag))
            trl.append(trl_run(root, model, args.steps, tag))
        print(f"tokens/s, {args.steps} steps of batch 8 on this machine's CPU (1 process), runs alternated:")
        print(f"  plain TRL SFTTrainer   {statistics.median(trl):9.0f}   ({', '.join(f'{x:.0f}' for x in trl)})")
        print(f"  mathmind train         {statistics.median(mm):9.0f}   ({', '.join(f'{x:.0f}' for x in mm)})")
        print(f"  ratio mathmind / TRL   {statistics.median(mm) / statistics.median(trl):9.3f}   (target >= 0.97)")
        print("pad share per batch (real dataloader, 60 batches of 8, max_length 512):")
        for label, extra in (("random order (default)", {}), ("group_by_length", {"train_sampling_strategy": "group_by_length"}),
                             ("packing (bfd, padding-free)", {"packing": True})):
            print(f"  {label:<28} {pad_share(model, data, **extra):7.1%}")
        if args.peak_tflops:
            from transformers import AutoModelForCausalLM

            params = sum(p.numel() for p in AutoModelForCausalLM.from_pretrained(model).parameters())
            achieved = 6 * params * statistics.median(mm) / 1e12
            print(f"MFU (6 x {params / 1e6:.1f}M parameters x tokens/s / peak): {achieved / args.peak_tflops:.2%} "
                  f"of {args.peak_tflops} TFLOPS")


if __name__ == "__main__":
    main()
