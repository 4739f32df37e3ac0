"""mathmind's own SFT trainer: what torchrun runs when openmind-cli does not (CUDA, CPU, Ascend without openMind).

    torchrun --nproc_per_node 8 -m mathmind.launch.sft OUTPUT_DIR.mathmind/recipe.torchrun.yaml

It reads the same recipe keys as openMind and maps them onto TRL's SFTTrainer:
  cutoff_len -> max_length; template -> chat template; finetuning_type lora + lora_rank/lora_alpha/
  lora_dropout/lora_target_modules -> peft; deepspeed and every other TrainingArguments key as is;
  precision / packing / kernel / checkpointing keys (pure_bf16, neat_packing, enable_liger_kernel,
  use_npu_fusion_attention, flash_attn, ...) through launch/recipe.py's SPEED_KEYS.
Datasets come from the dataset_info entry (openMind / LLaMA-Factory sharegpt or alpaca). The loss is
on assistant tokens only (Orca-Math's finding). Device kind, backend, attention kernel and fused
kernels come from mathmind.hardware. bf16/fp16 is mixed precision with fp32 master weights unless
`pure_bf16: true`. A run resumes from the last checkpoint in output_dir (`overwrite_output_dir: true`:
starts fresh). Other trainer scripts reuse load_tokenizer / load_model / keep_trainable_fp32.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import yaml

from mathmind.errors import UserError
from mathmind.hardware.kinds import DeviceKind
from mathmind.launch.recipe import SPEED_KEYS, TEMPLATES, Recipe, dataset_file, registered_datasets, shipped, speed_options

SHAREGPT_TAGS = {"role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt",
                 "observation_tag": "observation", "function_tag": "function_call", "system_tag": "system"}
ALPACA_COLUMNS = {"prompt": "instruction", "query": "input", "response": "output", "system": "system", "history": "history"}


THINK = re.compile(r"^(<think>\n.*?\n</think>\n\n)(.*)$", re.S)


def function_call_message(content: str) -> dict[str, Any]:
    """A function_call turn in LLaMA-Factory's encoding (optional <think> block, then JSON {"name", "arguments"}) as
    an assistant message with tool_calls, which the chat template renders as the model's own tool-call text."""
    match = THINK.match(content)
    thought, call = match.groups() if match else ("", content)
    try:
        calls = json.loads(call)
    except json.JSONDecodeError:
        return {"role": "assistant", "content": content}       # free text: trained as it is
    calls = calls if isinstance(calls, list) else [calls]
    if not all(isinstance(c, dict) and {"name", "arguments"} <= set(c) for c in calls):
        return {"role": "assistant", "content": content}
    return {"role": "assistant", "content": thought,
            "tool_calls": [{"type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}} for c in calls]}


def sharegpt_messages(sample: dict[str, Any], entry: dict[str, Any]) -> list[dict[str, Any]]:
    columns = {"messages": "conversations", "system": "system", **entry.get("columns", {})}
    tags = {**SHAREGPT_TAGS, **entry.get("tags", {})}
    roles = {tags["user_tag"]: "user", tags["assistant_tag"]: "assistant", tags["function_tag"]: "function",
             tags["observation_tag"]: "tool", tags["system_tag"]: "system"}
    messages = [{"role": "system", "content": sample[columns["system"]]}] if sample.get(columns["system"]) else []
    for turn in sample[columns["messages"]]:
        role = roles.get(turn[tags["role_tag"]])
        if role is None:
            raise UserError(f"unknown role {turn[tags['role_tag']]!r} (tags: {tags})")
        content = str(turn[tags["content_tag"]])
        messages.append(function_call_message(content) if role == "function" else {"role": role, "content": content})
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
                tools = entry.get("columns", {}).get("tools")   # LLaMA-Factory's column; TRL gives it to the chat template
                rows.append({"messages": convert(sample, entry), "tools": (sample.get(tools) or None) if tools else None})
            except (KeyError, TypeError, ValueError, UserError) as e:
                raise UserError(f"{path}: sample {i}: {e}") from None
    # A distill run writes answers in the order they arrive, which differs between runs: sorted, the
    # training order is a function of the data and the seed (the trainer shuffles with it), nothing else.
    return sorted(rows, key=lambda row: json.dumps(row, ensure_ascii=False, sort_keys=True))


def sft_config(values: dict[str, Any], kind_args: dict[str, Any], backend: str) -> Any:
    from trl import SFTConfig

    options = speed_options(values)
    fields = {f.name for f in dataclasses.fields(SFTConfig)}
    kwargs = {k: v for k, v in values.items() if k in fields and k not in SPEED_KEYS}
    for key in [k for k, v in kwargs.items() if k.endswith("_strategy") and v is False]:
        kwargs[key] = "no"         # YAML 1.1 reads `save_strategy: no` as false
    if "warmup_ratio" in values and "warmup_ratio" not in fields:   # transformers 5: a float warmup_steps is a ratio
        kwargs.setdefault("warmup_steps", float(values["warmup_ratio"]))
    kwargs.setdefault("max_length", values.get("cutoff_len", 1024))
    if values.get("group_by_length") and "group_by_length" not in fields:   # transformers 5's name for it
        kwargs.setdefault("train_sampling_strategy", "group_by_length")
    # Packing is TRL's best-fit decreasing into padding-free rows with position_ids restarting per sample,
    # so attention stays within each sample (LLaMA-Factory's neat_packing) and labels keep their -100s.
    kwargs["packing"] = options.packing
    if options.packing:
        kwargs["packing_strategy"] = "bfd"
    # Decided once the model is loaded (memory estimate) unless the recipe says; see train().
    kwargs["activation_checkpointing" if "activation_checkpointing" in fields else "gradient_checkpointing"] = \
        bool(options.gradient_checkpointing)
    kwargs.setdefault("assistant_only_loss", True)
    kwargs.setdefault("report_to", "none")
    kwargs.setdefault("bf16", False)          # SFTConfig would default to bf16; the recipe says what it wants
    kwargs.setdefault("ddp_backend", backend)
    kwargs.setdefault("save_only_model", False)
    kwargs.update(kind_args)
    return SFTConfig(**kwargs)


def zero_stage(values: dict[str, Any]) -> int | None:
    """The DeepSpeed ZeRO stage the recipe runs under, or None without DeepSpeed."""
    if not values.get("deepspeed"):
        return None
    ds = values["deepspeed"] if isinstance(values["deepspeed"], dict) else \
        json.loads(shipped(Path(str(values["deepspeed"]))).read_text(encoding="utf-8"))
    return int(ds.get("zero_optimization", {}).get("stage", 0))


def load_dtype(values: dict[str, Any], config: Any) -> Any:
    """The dtype weights are loaded in.

    Mixed precision keeps fp32 master weights: bf16/fp16 is the compute dtype (autocast), not the
    storage of what the optimizer updates, because at fine-tuning rates most updates are smaller than
    bf16's spacing and round away. DeepSpeed keeps its own fp32 master copy, and LoRA trains only its
    adapters (PEFT keeps them fp32), so those load half precision; `pure_bf16: true` (LLaMA-Factory's
    name) asks for bf16 weights and optimizer states on purpose.
    """
    import torch

    if not (config.bf16 or config.fp16):
        return torch.float32
    half = torch.bfloat16 if config.bf16 else torch.float16
    if speed_options(values).pure_bf16 or zero_stage(values) is not None or values.get("finetuning_type") == "lora":
        return half
    return torch.float32


def load_tokenizer(values: dict[str, Any]) -> Any:
    """The recipe's tokenizer, with its `template` chat template and a pad token."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(values["model_name_or_path"], trust_remote_code=bool(values.get("trust_remote_code", False)))
    if values.get("template") in TEMPLATES:
        from importlib import resources

        tokenizer.chat_template = resources.files("mathmind.recipes").joinpath("templates", TEMPLATES[values["template"]]).read_text("utf-8")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(values: dict[str, Any], config: Any, spec: DeviceKind) -> tuple[Any, list[str]]:
    """The model for training: weights in load_dtype(), the attention kernel hardware/ picks. Returns notes too.

    Shared by every trainer script (SFT here, preference training): call keep_trainable_fp32() on the
    model the trainer wraps (after PEFT) before training starts.
    """
    from transformers import AutoModelForCausalLM

    from mathmind.hardware.runtime import attention_implementation

    attention, note = attention_implementation(spec, speed_options(values).attention)
    model = AutoModelForCausalLM.from_pretrained(values["model_name_or_path"], dtype=load_dtype(values, config),
                                                 attn_implementation=attention,
                                                 trust_remote_code=bool(values.get("trust_remote_code", False)))
    return model, [f"attention: {attention}"] + ([note] if note else [])


def keep_trainable_fp32(model: Any, values: dict[str, Any], config: Any) -> int:
    """Cast trainable parameters to fp32 (mixed precision; see load_dtype); returns how many were cast."""
    import torch

    if not (config.bf16 or config.fp16) or speed_options(values).pure_bf16 or zero_stage(values) is not None:
        return 0
    cast = 0
    for param in model.parameters():
        if param.requires_grad and param.dtype != torch.float32:
            param.data = param.data.float()
            cast += 1
    return cast


def checkpointing_needed(model: Any, values: dict[str, Any], config: Any, memory_bytes: int, world_size: int) -> bool:
    """Whether training without gradient checkpointing would overrun ~85% of the device's memory.

    A deliberately rough estimate: weights, gradients and Adam states per parameter (fp32 master weights,
    or DeepSpeed's partitions), plus the activations a decoder layer keeps per token for backward
    (~16 x hidden + 8 x intermediate bytes in half precision, twice that in fp32) for the longest batch, plus
    fixed overheads.
    Checkpointing recomputes those activations, costing ~1/3 more compute, so it is only worth it when needed.
    """
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
    if values.get("finetuning_type") == "lora":    # called before PEFT wraps the model: the base will be frozen
        trainable, frozen = 0, trainable + frozen
    stage = zero_stage(values)
    half = config.bf16 or config.fp16
    if stage is None:
        per_trainable = 8 if speed_options(values).pure_bf16 else 16
    else:                 # half weights + (fp32 master, fp32 Adam moments, gradients) partitioned over ranks
        per_trainable = (2 if stage < 3 else 2 / world_size) + 16 / world_size
    text = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
    hidden = int(text.hidden_size)
    intermediate = int(getattr(text, "intermediate_size", 4 * hidden) or 4 * hidden)
    per_token_layer = (16 * hidden + 8 * intermediate) * (1 if half else 2)
    tokens = config.per_device_train_batch_size * (config.max_length or 1024)
    # Runtime context and workspaces (~2 GiB), plus DeepSpeed's communication buckets (~4 GiB as shipped).
    overhead = (2 + (4 if stage is not None else 0)) * 1024**3
    needed = trainable * per_trainable + frozen * (2 if half else 4) + tokens * int(text.num_hidden_layers) * per_token_layer
    return needed + overhead > 0.85 * memory_bytes


def lora_config(values: dict[str, Any]) -> Any:
    if values.get("finetuning_type", "full") != "lora":
        return None
    from peft import LoraConfig

    targets = values.get("lora_target_modules") or "all"
    if isinstance(targets, str):
        targets = "all-linear" if targets == "all" else [t.strip() for t in targets.split(",")]
    return LoraConfig(r=int(values.get("lora_rank", 8)), lora_alpha=int(values.get("lora_alpha") or 2 * int(values.get("lora_rank", 8))),
                      lora_dropout=float(values.get("lora_dropout", 0.0)), target_modules=targets, task_type="CAUSAL_LM")


def apply_checkpointing_default(model: Any, values: dict[str, Any], config: Any, spec: Any, options: Any) -> None:
    """The recipe's checkpointing choice stands; without one, checkpointing is on only where memory needs it."""
    from mathmind.hardware.runtime import device_memory_bytes

    if options.gradient_checkpointing is not None:
        return
    needed = checkpointing_needed(model, values, config, device_memory_bytes(spec), int(os.environ.get("WORLD_SIZE", "1")))
    for name in ("activation_checkpointing", "gradient_checkpointing"):   # transformers 5 reads the first, TRL the second
        if hasattr(config, name):
            setattr(config, name, needed)


def train(recipe_path: Path) -> None:
    from mathmind.hardware.runtime import fused_kernels_available, peak_memory_bytes, prepare_runtime

    spec = prepare_runtime()
    from datasets import Dataset
    from transformers import set_seed
    from transformers.trainer_utils import get_last_checkpoint
    from trl import SFTTrainer

    from mathmind.tiny import portable_tokenizer_config

    values = yaml.safe_load(recipe_path.read_text(encoding="utf-8"))
    options = speed_options(values, str(recipe_path))
    config = sft_config(values, dict(spec.trainer_args), spec.dist_backend)
    set_seed(config.seed)
    tokenizer = load_tokenizer(values)
    dataset = Dataset.from_list(load_messages(values, recipe_path))
    model, notes = load_model(values, config, spec)
    kernels = fused_kernels_available(spec)
    if options.liger is None:
        config.use_liger_kernel = kernels == "liger_kernel"
    elif options.liger and kernels != "liger_kernel":
        notes.append(f"liger kernels asked for, but not usable on {spec.name} here (pip install 'mathmind[liger]' on CUDA): off")
    else:
        config.use_liger_kernel = options.liger
    apply_checkpointing_default(model, values, config, spec, options)
    notes.append(f"gradient checkpointing {'on' if config.gradient_checkpointing else 'off'}"
                 + (" (memory estimate)" if options.gradient_checkpointing is None else " (recipe)")
                 + f", liger kernels {'on' if config.use_liger_kernel else 'off'}, packing {'on' if options.packing else 'off'}")
    trainer = SFTTrainer(model=model, args=config, train_dataset=dataset, processing_class=tokenizer,
                         peft_config=lora_config(values))
    cast = keep_trainable_fp32(trainer.model, values, config)
    if cast:
        notes.append(f"mixed precision: {cast} trainable tensors kept in fp32, {'bf16' if config.bf16 else 'fp16'} compute")
    output_dir = Path(config.output_dir)
    checkpoint = get_last_checkpoint(str(output_dir)) if output_dir.is_dir() else None
    if checkpoint and values.get("overwrite_output_dir"):
        notes.append(f"overwrite_output_dir: true: starting fresh, not from {checkpoint}")
        checkpoint = None
    if trainer.is_world_process_zero():
        for note in notes:
            print(f"mathmind: {note}", flush=True)
        if checkpoint:
            print(f"mathmind: resuming from {checkpoint}", flush=True)
    metrics = trainer.train(resume_from_checkpoint=checkpoint).metrics
    peak = peak_memory_bytes(spec)
    if peak is not None:
        metrics["peak_memory_gib"] = round(peak / 1024**3, 2)
    trainer.save_model(str(output_dir))
    trainer.save_state()
    trainer.save_metrics("train", metrics)
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
