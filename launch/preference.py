"""mathmind's DPO / KTO trainer (seed 004's preference iterations): what torchrun runs for `stage: dpo|kto`.

    torchrun --nproc_per_node 8 -m mathmind.launch.preference OUTPUT_DIR.mathmind/recipe.torchrun.yaml

TRL's DPOTrainer / KTOTrainer from LLaMA-Factory's recipe keys:
  pref_beta -> beta; pref_loss -> DPO loss_type (sigmoid, hinge, ipo, ... as TRL names them);
  pref_ftx -> an added SFT loss on the chosen answer with that weight (DPO); kto_chosen_weight /
  kto_rejected_weight -> desirable_weight / undesirable_weight; ref_model -> the reference model
  (default: a frozen copy of the starting model; with LoRA, the model with its adapter off);
  cutoff_len -> max_length. Every TrainingArguments key, DeepSpeed, LoRA, the device kind and the
  distributed backend are handled as for SFT (mathmind.launch.sft, mathmind.hardware).
The dataset is a registered LLaMA-Factory preference dataset (`mathmind pairs` writes them): sharegpt
with `ranking: true` and chosen/rejected columns for dpo, with a `kto_tag` column for kto. The loss is
on the answer tokens only (TRL's completion mask). A run resumes from the last checkpoint in output_dir.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from mathmind.errors import UserError
from mathmind.launch.recipe import Recipe, dataset_file, registered_datasets, speed_options
from mathmind.launch.sft import (SHAREGPT_TAGS, apply_checkpointing_default, keep_trainable_fp32, load_model, load_tokenizer,
                                 lora_config, sft_config, sharegpt_messages)


def _assistant_turn(turn: Any, entry: dict[str, Any], where: str) -> dict[str, str]:
    tags = {**SHAREGPT_TAGS, **entry.get("tags", {})}
    if not isinstance(turn, dict) or tags["content_tag"] not in turn:
        raise UserError(f"{where}: expected one message object with {tags['content_tag']!r}")
    return {"role": "assistant", "content": str(turn[tags["content_tag"]])}


def dpo_row(sample: dict[str, Any], entry: dict[str, Any], where: str) -> dict[str, Any]:
    columns = entry.get("columns", {})
    return {"prompt": sharegpt_messages(sample, entry),
            "chosen": [_assistant_turn(sample[columns.get("chosen", "chosen")], entry, f"{where}: chosen")],
            "rejected": [_assistant_turn(sample[columns.get("rejected", "rejected")], entry, f"{where}: rejected")]}


def kto_row(sample: dict[str, Any], entry: dict[str, Any], where: str) -> dict[str, Any]:
    messages = sharegpt_messages(sample, entry)
    label = sample[entry["columns"]["kto_tag"]]
    if not messages or messages[-1]["role"] != "assistant" or not isinstance(label, bool):
        raise UserError(f"{where}: a KTO example ends with the assistant's answer and has a true/false {entry['columns']['kto_tag']!r}")
    return {"prompt": messages[:-1], "completion": messages[-1:], "label": label}


# stage -> (what its dataset entry must declare, how a sample becomes TRL's row)
STAGE_DATA = {
    "dpo": (lambda e: bool(e.get("ranking")), "`ranking: true` with chosen/rejected columns", dpo_row),
    "kto": (lambda e: bool(e.get("columns", {}).get("kto_tag")), "a `kto_tag` column", kto_row),
}


def load_preference_rows(values: dict[str, Any], recipe_path: Path) -> list[dict[str, Any]]:
    stage = values["stage"]
    accepts, needs, to_row = STAGE_DATA[stage]
    entries = registered_datasets(Recipe(recipe_path, values))
    rows: list[dict[str, Any]] = []
    for name in (n.strip() for n in str(values["dataset"]).split(",")):
        entry = entries[name]
        if entry.get("formatting", "alpaca") != "sharegpt" or not accepts(entry):
            raise UserError(f"dataset {name!r}: stage {stage} needs a sharegpt preference dataset with {needs} "
                            f"(`mathmind pairs` writes and registers one)")
        path = dataset_file(entry)
        data = json.loads(path.read_text(encoding="utf-8")) if path.suffix == ".json" else \
            [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        for i, sample in enumerate(data[:values.get("max_samples") or len(data)]):
            try:
                rows.append(to_row(sample, entry, f"{path}: sample {i}"))
            except (KeyError, TypeError) as e:
                raise UserError(f"{path}: sample {i}: missing or malformed {e}") from None
    return rows


def preference_config(values: dict[str, Any], kind_args: dict[str, Any], backend: str) -> Any:
    """DPOConfig / KTOConfig: TrainingArguments keys mapped exactly as for SFT, plus the preference keys."""
    from transformers import TrainingArguments
    from trl import DPOConfig, KTOConfig, SFTConfig

    stage = values["stage"]
    config_class = {"dpo": DPOConfig, "kto": KTOConfig}[stage]
    # SFT's mapping of recipe keys onto TrainingArguments (transformers 5 renames, YAML `no`, device kind), taken
    # as the values that differ from SFTConfig's defaults or that the recipe names, so DPO/KTO keep their own defaults.
    mapped, default = sft_config(values, kind_args, backend), SFTConfig(output_dir=str(values["output_dir"]), **kind_args)
    kwargs = {f.name: getattr(mapped, f.name) for f in dataclasses.fields(TrainingArguments)
              if f.init and (f.name in values or getattr(mapped, f.name) != getattr(default, f.name))}
    kwargs.update(kind_args)   # the device kind's own arguments (use_cpu on CPU), whatever SFTConfig's default
    own = {f.name for f in dataclasses.fields(config_class)} - set(kwargs)
    kwargs.update({k: v for k, v in values.items() if k in own})
    kwargs.setdefault("max_length", values.get("cutoff_len", 1024))
    if "pref_beta" in values:
        kwargs["beta"] = float(values["pref_beta"])
    ftx = float(values.get("pref_ftx") or 0.0)
    if stage == "dpo":
        losses = [values.get("pref_loss", "sigmoid")]
        kwargs["loss_type"] = losses + (["sft"] if ftx else [])
        if ftx:
            kwargs["loss_weights"] = [1.0, ftx]
    elif ftx:
        raise UserError("pref_ftx: TRL's KTOTrainer has no added SFT loss; set pref_ftx: 0 for stage kto")
    if stage == "kto":
        kwargs["desirable_weight"] = float(values.get("kto_chosen_weight", 1.0))
        kwargs["undesirable_weight"] = float(values.get("kto_rejected_weight", 1.0))
    return config_class(**kwargs)


def build_trainer(recipe_path: Path) -> tuple[Any, list[str]]:
    """The TRL trainer for the rendered recipe, ready to train, and notes for the log (tests inspect its batches).

    Model loading, precision (fp32 master weights under bf16 unless DeepSpeed/LoRA/pure_bf16), the attention
    kernel and the checkpointing estimate are SFT's (mathmind.launch.sft), so both trainers treat a recipe alike.
    """
    from mathmind.hardware.runtime import prepare_runtime

    spec = prepare_runtime()
    from datasets import Dataset
    from transformers import set_seed
    from trl import DPOTrainer, KTOTrainer

    values = yaml.safe_load(recipe_path.read_text(encoding="utf-8"))
    options = speed_options(values, str(recipe_path))
    config = preference_config(values, dict(spec.trainer_args), spec.dist_backend)
    set_seed(config.seed)
    tokenizer = load_tokenizer(values)
    dataset = Dataset.from_list(load_preference_rows(values, recipe_path))
    model, notes = load_model(values, config, spec)
    ref_model = load_model({**values, "model_name_or_path": values["ref_model"]}, config, spec)[0] if values.get("ref_model") else None
    apply_checkpointing_default(model, values, config, spec, options)
    notes.append(f"gradient checkpointing {'on' if config.gradient_checkpointing else 'off'}; "
                 f"reference model: {values.get('ref_model') or 'the starting model'}")
    trainer_class = {"dpo": DPOTrainer, "kto": KTOTrainer}[values["stage"]]
    trainer = trainer_class(model=model, ref_model=ref_model, args=config, train_dataset=dataset, processing_class=tokenizer,
                            peft_config=lora_config(values))
    cast = keep_trainable_fp32(trainer.model, values, config)
    if cast:
        notes.append(f"mixed precision: {cast} trainable tensors kept in fp32, {'bf16' if config.bf16 else 'fp16'} compute")
    return trainer, notes


def train(recipe_path: Path) -> None:
    from transformers.trainer_utils import get_last_checkpoint

    from mathmind.tiny import portable_tokenizer_config

    trainer, notes = build_trainer(recipe_path)
    output_dir = Path(trainer.args.output_dir)
    checkpoint = get_last_checkpoint(str(output_dir)) if output_dir.is_dir() else None
    if checkpoint and yaml.safe_load(recipe_path.read_text(encoding="utf-8")).get("overwrite_output_dir"):
        notes.append(f"overwrite_output_dir: true: starting fresh, not from {checkpoint}")
        checkpoint = None
    if trainer.is_world_process_zero():
        for note in notes:
            print(f"mathmind: {note}", flush=True)
        if checkpoint:
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
        print("usage: python -m mathmind.launch.preference RENDERED_RECIPE.yaml  (normally started by `mathmind train`)",
              file=sys.stderr)
        return 2
    try:
        train(Path(argv[0]))
    except UserError as e:
        print(f"mathmind train: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
