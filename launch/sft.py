"""mathmind's own SFT trainer: what torchrun runs when openmind-cli does not (CUDA, CPU, Ascend without openMind).

    torchrun --nproc_per_node 8 -m mathmind.launch.sft OUTPUT_DIR.mathmind/recipe.torchrun.yaml

It reads the same recipe keys as openMind and maps them onto TRL's SFTTrainer:
  cutoff_len -> max_length; template -> chat template; finetuning_type lora + lora_rank/lora_alpha/
  lora_dropout/lora_target_modules -> peft; deepspeed and every other TrainingArguments key as is.
Datasets come from the dataset_info entry (openMind / LLaMA-Factory sharegpt or alpaca). The loss is
on assistant tokens only (Orca-Math's finding). Device kind and backend come from mathmind.hardware.
A run resumes from the last checkpoint in output_dir.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from mathmind.errors import UserError
from mathmind.launch.recipe import TEMPLATES, Recipe, dataset_file, registered_datasets

SHAREGPT_TAGS = {"role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt",
                 "observation_tag": "observation", "function_tag": "function_call", "system_tag": "system"}
ALPACA_COLUMNS = {"prompt": "instruction", "query": "input", "response": "output", "system": "system", "history": "history"}


def sharegpt_messages(sample: dict[str, Any], entry: dict[str, Any]) -> list[dict[str, str]]:
    columns = {"messages": "conversations", "system": "system", **entry.get("columns", {})}
    tags = {**SHAREGPT_TAGS, **entry.get("tags", {})}
    roles = {tags["user_tag"]: "user", tags["assistant_tag"]: "assistant", tags["function_tag"]: "assistant",
             tags["observation_tag"]: "tool", tags["system_tag"]: "system"}
    messages = [{"role": "system", "content": sample[columns["system"]]}] if sample.get(columns["system"]) else []
    for turn in sample[columns["messages"]]:
        role = roles.get(turn[tags["role_tag"]])
        if role is None:
            raise UserError(f"unknown role {turn[tags['role_tag']]!r} (tags: {tags})")
        messages.append({"role": role, "content": str(turn[tags["content_tag"]])})
    return messages


def alpaca_messages(sample: dict[str, Any], entry: dict[str, Any]) -> list[dict[str, str]]:
    c = {**ALPACA_COLUMNS, **entry.get("columns", {})}
    messages = [{"role": "system", "content": sample[c["system"]]}] if sample.get(c["system"]) else []
    for user, assistant in sample.get(c["history"]) or []:
        messages += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
    prompt = "\n".join(p for p in (sample.get(c["prompt"]), sample.get(c["query"])) if p)
    return messages + [{"role": "user", "content": prompt}, {"role": "assistant", "content": sample[c["response"]]}]


FORMATTINGS = {"sharegpt": sharegpt_messages, "alpaca": alpaca_messages}


def load_messages(values: dict[str, Any], recipe_path: Path) -> list[dict[str, Any]]:
    entries = registered_datasets(Recipe(recipe_path, values))
    rows: list[dict[str, Any]] = []
    for name in str(values["dataset"]).split(","):
        entry = entries[name.strip()]
        path = dataset_file(entry)
        data = json.loads(path.read_text(encoding="utf-8")) if path.suffix == ".json" else \
            [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        convert = FORMATTINGS[entry.get("formatting", "alpaca")]
        for i, sample in enumerate(data[:values.get("max_samples") or len(data)]):
            try:
                rows.append({"messages": convert(sample, entry)})
            except (KeyError, TypeError, ValueError, UserError) as e:
                raise UserError(f"{path}: sample {i}: {e}") from None
    return rows


def sft_config(values: dict[str, Any], kind_args: dict[str, Any], backend: str) -> Any:
    from trl import SFTConfig

    fields = {f.name for f in dataclasses.fields(SFTConfig)}
    kwargs = {k: v for k, v in values.items() if k in fields}
    for key in [k for k, v in kwargs.items() if k.endswith("_strategy") and v is False]:
        kwargs[key] = "no"         # YAML 1.1 reads `save_strategy: no` as false
    if "warmup_ratio" in values and "warmup_ratio" not in fields:   # transformers 5: a float warmup_steps is a ratio
        kwargs.setdefault("warmup_steps", float(values["warmup_ratio"]))
    kwargs.setdefault("max_length", values.get("cutoff_len", 1024))
    if values.get("group_by_length") and "group_by_length" not in fields:   # transformers 5's name for it
        kwargs.setdefault("train_sampling_strategy", "group_by_length")
    if values.get("use_gradient_checkpointing"):          # openMind's name
        kwargs.setdefault("gradient_checkpointing", True)
    kwargs.setdefault("assistant_only_loss", True)
    kwargs.setdefault("report_to", "none")
    kwargs.setdefault("bf16", False)          # SFTConfig would default to bf16; the recipe says what it wants
    kwargs.setdefault("ddp_backend", backend)
    kwargs.setdefault("save_only_model", False)
    kwargs.update(kind_args)
    return SFTConfig(**kwargs)


def lora_config(values: dict[str, Any]) -> Any:
    if values.get("finetuning_type", "full") != "lora":
        return None
    from peft import LoraConfig

    targets = values.get("lora_target_modules") or "all"
    if isinstance(targets, str):
        targets = "all-linear" if targets == "all" else [t.strip() for t in targets.split(",")]
    return LoraConfig(r=int(values.get("lora_rank", 8)), lora_alpha=int(values.get("lora_alpha") or 2 * int(values.get("lora_rank", 8))),
                      lora_dropout=float(values.get("lora_dropout", 0.0)), target_modules=targets, task_type="CAUSAL_LM")


def train(recipe_path: Path) -> None:
    from mathmind.hardware.runtime import prepare_runtime

    spec = prepare_runtime()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.trainer_utils import get_last_checkpoint
    from trl import SFTTrainer

    from mathmind.tiny import portable_tokenizer_config

    values = yaml.safe_load(recipe_path.read_text(encoding="utf-8"))
    model_path = values["model_name_or_path"]
    trust = bool(values.get("trust_remote_code", False))
    tokenizer = AutoTokenizer.from_pretrained(model_path, trust_remote_code=trust)
    if values.get("template") in TEMPLATES:
        from importlib import resources

        tokenizer.chat_template = resources.files("mathmind.recipes").joinpath("templates", TEMPLATES[values["template"]]).read_text("utf-8")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    from datasets import Dataset

    dataset = Dataset.from_list(load_messages(values, recipe_path))
    config = sft_config(values, dict(spec.trainer_args), spec.dist_backend)
    dtype = torch.bfloat16 if config.bf16 else (torch.float16 if config.fp16 else torch.float32)
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=dtype, trust_remote_code=trust)
    trainer = SFTTrainer(model=model, args=config, train_dataset=dataset, processing_class=tokenizer,
                         peft_config=lora_config(values))
    output_dir = Path(config.output_dir)
    checkpoint = get_last_checkpoint(str(output_dir)) if output_dir.is_dir() else None
    if checkpoint and trainer.is_world_process_zero():
        print(f"mathmind: resuming from {checkpoint}", flush=True)
    trainer.train(resume_from_checkpoint=checkpoint)
    trainer.save_model(str(output_dir))
    trainer.save_state()
    if trainer.is_world_process_zero():
        portable_tokenizer_config(output_dir)
        print(f"mathmind: model saved to {output_dir}", flush=True)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m mathmind.launch.sft RENDERED_RECIPE.yaml  (normally started by `mathmind train`)", file=sys.stderr)
        return 2
    try:
        train(Path(argv[0]))
    except UserError as e:
        print(f"mathmind train: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
