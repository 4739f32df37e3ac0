"""Training recipes: openMind-style YAML, checked before anything is launched, rendered per launcher.

One recipe serves openmind-cli and mathmind's own trainer (TRL SFTTrainer under torchrun). Keys are
openMind's (which are LLaMA-Factory's names) plus every Hugging Face TrainingArguments key as is.
Errors name the file and the key, and suggest the closest valid key.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
from pathlib import Path
from typing import Any

import yaml

from mathmind.errors import UserError
from mathmind.jsonl import read_yaml_mapping

# Keys mathmind's own trainer reads besides TrainingArguments / SFTConfig fields (openMind's names).
TRAINER_KEYS = {
    "model_name_or_path", "model_group", "trust_remote_code", "template", "cache_dir", "model_revision",
    "stage", "finetuning_type", "lora_rank", "lora_alpha", "lora_dropout", "lora_target_modules",
    "dataset", "custom_dataset_info", "dataset_dir", "cutoff_len", "max_samples",
    # TrainingArguments keys of transformers 4.x (openMind's pin) that transformers 5 dropped or renamed:
    "warmup_ratio",            # -> warmup_steps as a fraction
    "overwrite_output_dir",    # true: start fresh, ignoring output_dir's checkpoints (LLaMA-Factory's meaning); else resume
    "group_by_length",         # -> train_sampling_strategy: group_by_length
}

# Precision, packing, kernel and checkpointing keys as LLaMA-Factory / openMind / transformers users write
# them -> the one setting each controls in mathmind's trainer (read through speed_options(); this table
# is the only place that knows the aliases). "!" negates.
SPEED_KEYS: dict[str, str] = {
    "pure_bf16": "pure_bf16",                  # LLaMA-Factory: bf16 weights and optimizer states, no fp32 master copy
    "packing": "packing",                      # TRL / LLaMA-Factory
    "neat_packing": "packing",                 # LLaMA-Factory: packing without attention across samples
    "enable_liger_kernel": "liger",            # LLaMA-Factory
    "use_liger_kernel": "liger",               # transformers TrainingArguments
    "gradient_checkpointing": "gradient_checkpointing",        # transformers 4 (and TRL)
    "activation_checkpointing": "gradient_checkpointing",      # transformers 5
    "use_gradient_checkpointing": "gradient_checkpointing",    # openMind
    "disable_gradient_checkpointing": "!gradient_checkpointing",   # LLaMA-Factory
    "flash_attn": "attention",                 # LLaMA-Factory: auto | disabled | sdpa | fa2
    "use_npu_fusion_attention": "attention",   # openMind: true = torch_npu's fused (varlen) attention
}
FLASH_ATTN = {"auto": "auto", "disabled": "eager", "eager": "eager", "sdpa": "sdpa", "fa2": "flash_attention_2"}


@dataclasses.dataclass
class SpeedOptions:
    pure_bf16: bool = False
    packing: bool = False               # always per-sample attention: padding-free batches with position_ids
    liger: bool | None = None           # None: on where the device's kernel library is installed
    gradient_checkpointing: bool | None = None   # None: on only when memory needs it (launch/sft.py estimates)
    attention: str = "auto"             # auto (hardware/ picks a varlen kernel) | eager | sdpa | flash_attention_2


def speed_options(values: dict[str, Any], where: str = "recipe") -> SpeedOptions:
    """The recipe's speed and precision keys, whichever names it uses, as one SpeedOptions."""
    chosen: dict[str, tuple[str, Any]] = {}
    for key, target in SPEED_KEYS.items():
        if key not in values or values[key] is None:
            continue
        value = values[key]
        if target == "attention":
            value = ("flash_attention_2" if value else "auto") if key == "use_npu_fusion_attention" else FLASH_ATTN.get(str(value))
            if value is None:
                raise UserError(f"{where}: {key}: expected one of {', '.join(FLASH_ATTN)}, got {values[key]!r}")
        elif not isinstance(value, bool):
            raise UserError(f"{where}: {key}: expected true or false, got {value!r}")
        elif target.startswith("!"):
            target, value = target[1:], not value
        if target in chosen and chosen[target][1] != value:
            raise UserError(f"{where}: {key} contradicts {chosen[target][0]}")
        chosen[target] = (key, value)
    return SpeedOptions(**{target: value for target, (_, value) in chosen.items()})


STAGES = {"sft", "dpo", "kto"}
# LLaMA-Factory's preference keys (stage dpo / kto), read by mathmind.launch.preference.
PREFERENCE_KEYS = {"pref_beta", "pref_loss", "pref_ftx", "kto_chosen_weight", "kto_rejected_weight", "ref_model"}
# TRL DPOTrainer's loss types (LLaMA-Factory's orpo, simpo and kto_pair are not among them).
PREF_LOSSES = {"sigmoid", "hinge", "ipo", "exo_pair", "nca_pair", "robust", "bco_pair", "sppo_hard", "aot",
               "aot_unpaired", "apo_zero", "apo_down", "discopop", "sigmoid_norm"}
FINETUNING_TYPES = {"full", "lora"}
TEMPLATES = {"qwen": "qwen.jinja"}          # template name -> chat template shipped under recipes/templates


@dataclasses.dataclass
class Recipe:
    path: Path
    values: dict[str, Any]

    def where(self, key: str) -> str:
        return f"{self.path}: {key}"


def parse_override(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise UserError(f"override {text!r}: expected key=value")
    try:
        parsed = yaml.safe_load(value) if value.strip() else ""
    except yaml.YAMLError:
        return key.strip(), value
    if isinstance(parsed, str):
        try:
            parsed = float(parsed)    # YAML 1.1 reads `2e-3` as text; a user means the number
        except ValueError:
            pass
    return key.strip(), parsed


def shipped(path: Path) -> Path:
    """`path` if it exists, else the file of that name among the recipes shipped with mathmind.

    So `recipes/qwen2.5-7b-instruct/full_distill.yaml` and its `deepspeed: recipes/deepspeed/ds_z2.json`
    work from a checkout and from a pip install alike.
    """
    if path.exists() or path.is_absolute():
        return path
    from importlib import resources

    parts = path.parts[1:] if path.parts and path.parts[0] == "recipes" else path.parts
    candidate = Path(str(resources.files("mathmind.recipes").joinpath(*parts)))
    return candidate if candidate.exists() else path


def load_recipe(path: Path, overrides: list[str]) -> Recipe:
    path = shipped(path)
    values = read_yaml_mapping(path, "recipe")
    for text in overrides:
        key, value = parse_override(text)
        values[key] = value
    return Recipe(path, values)


def trainer_keys() -> set[str] | None:
    """Every key mathmind's trainer accepts, or None when the training extra is not installed."""
    try:
        from trl import DPOConfig, KTOConfig, SFTConfig
    except ImportError:
        return None
    preference = {f.name for config in (DPOConfig, KTOConfig) for f in dataclasses.fields(config)} | PREFERENCE_KEYS
    return {f.name for f in dataclasses.fields(SFTConfig)} | preference | TRAINER_KEYS | set(SPEED_KEYS)


def check_keys(recipe: Recipe, valid: set[str], what: str) -> None:
    for key in recipe.values:
        if key not in valid:
            close = difflib.get_close_matches(key, sorted(valid), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise UserError(f"{recipe.where(key)}: unknown key for {what}{hint}")


def _number(recipe: Recipe, key: str, low: float, high: float, integer: bool = False) -> None:
    if key not in recipe.values:
        return
    value = recipe.values[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
        raise UserError(f"{recipe.where(key)}: expected {'an integer' if integer else 'a number'}, got {value!r}")
    if not low <= value <= high:
        raise UserError(f"{recipe.where(key)}: {value} is out of range [{low}, {high}]")


def registered_datasets(recipe: Recipe) -> dict[str, dict[str, Any]]:
    """Dataset entries from the recipe's custom_dataset_info file(s), else dataset_dir/dataset_info.json."""
    v = recipe.values
    paths = [Path(p.strip()) for p in str(v["custom_dataset_info"]).split(",")] if v.get("custom_dataset_info") else \
        [Path(v.get("dataset_dir") or "data") / "dataset_info.json"]
    entries: dict[str, dict[str, Any]] = {}
    for info in paths:
        if not info.is_file():
            raise UserError(f"{recipe.where('custom_dataset_info')}: {info} does not exist "
                            f"(write it with `mathmind convert --register {info} --name NAME`)")
        try:
            data = json.loads(info.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise UserError(f"{info}: not valid JSON (line {e.lineno}: {e.msg})") from None
        for name, entry in data.items():
            entries[name] = {**entry, "_info": str(info.resolve())}
    return entries


def validate(recipe: Recipe, valid_keys: set[str] | None, what: str, builtin_datasets: set[str] = frozenset()) -> list[str]:
    """Check the recipe before launching; returns notes (what could not be checked).

    `builtin_datasets`: names the launcher knows without registration (openMind's own dataset_info).
    """
    notes = []
    v = recipe.values
    if valid_keys is None:
        notes.append(f"key names not checked: neither openMind nor the training extra is installed here")
    else:
        check_keys(recipe, valid_keys, what)
    for key in ("model_name_or_path", "dataset", "output_dir"):
        if not v.get(key):
            raise UserError(f"{recipe.where(key)}: required")
    if v.get("stage", "sft") not in STAGES:
        raise UserError(f"{recipe.where('stage')}: {v['stage']!r} is not supported (supported: {', '.join(sorted(STAGES))})")
    if v.get("stage") in ("dpo", "kto"):
        _preference_checks(recipe)
    if v.get("finetuning_type", "full") not in FINETUNING_TYPES:
        raise UserError(f"{recipe.where('finetuning_type')}: expected one of {', '.join(sorted(FINETUNING_TYPES))}, got {v['finetuning_type']!r}")
    _number(recipe, "learning_rate", 1e-9, 1.0)
    _number(recipe, "num_train_epochs", 1e-6, 1000)
    _number(recipe, "max_steps", -1, 10**9, integer=True)
    _number(recipe, "cutoff_len", 8, 10**7, integer=True)
    _number(recipe, "per_device_train_batch_size", 1, 10**6, integer=True)
    _number(recipe, "gradient_accumulation_steps", 1, 10**6, integer=True)
    _number(recipe, "warmup_ratio", 0, 0.999)
    _number(recipe, "lora_rank", 1, 4096, integer=True)
    _number(recipe, "lora_dropout", 0, 0.999)
    if v.get("bf16") and v.get("fp16"):
        raise UserError(f"{recipe.where('fp16')}: bf16 and fp16 cannot both be true")
    if speed_options(v, str(recipe.path)).pure_bf16 and not v.get("bf16"):
        raise UserError(f"{recipe.where('pure_bf16')}: needs bf16: true")
    model = str(v["model_name_or_path"])
    if Path(model).exists() and not (Path(model) / "config.json").is_file():
        raise UserError(f"{recipe.where('model_name_or_path')}: {model} has no config.json (not a model folder)")
    if not Path(model).exists() and not _looks_like_hub_id(model):
        raise UserError(f"{recipe.where('model_name_or_path')}: {model} is neither a folder nor a hub id "
                        f"(owner/name, or modelscope:/openmind:/hf: owner/name)")
    if v.get("deepspeed"):
        ds = shipped(Path(str(v["deepspeed"])))
        if not ds.is_file():
            raise UserError(f"{recipe.where('deepspeed')}: {ds} does not exist")
        try:
            json.loads(ds.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise UserError(f"{ds}: not valid JSON (line {e.lineno}: {e.msg})") from None
    wanted = [n.strip() for n in str(v["dataset"]).split(",") if n.strip() not in builtin_datasets]
    entries = registered_datasets(recipe) if wanted else {}
    for name in wanted:
        entry = entries.get(name.strip())
        if entry is None:
            raise UserError(f"{recipe.where('dataset')}: {name.strip()!r} is not registered in "
                            f"{v.get('custom_dataset_info') or 'dataset_info.json'} (registered: {', '.join(sorted(entries)) or 'none'})")
        data_file = dataset_file(entry)
        if not data_file.is_file():
            raise UserError(f"{recipe.where('dataset')}: {name.strip()!r} points at {data_file}, which does not exist")
    if v.get("template") and v["template"] not in TEMPLATES:
        notes.append(f"template {v['template']!r}: mathmind's trainer uses the model's own chat template for it")
    out = Path(str(v["output_dir"]))
    parent = next((p for p in [out, *out.parents] if p.exists()), Path("."))
    if not os.access(parent, os.W_OK):
        raise UserError(f"{recipe.where('output_dir')}: cannot write under {parent}")
    return notes


def _preference_checks(recipe: Recipe) -> None:
    v = recipe.values
    _number(recipe, "pref_beta", 1e-6, 1e3)
    _number(recipe, "pref_ftx", 0, 1e3)
    _number(recipe, "kto_chosen_weight", 1e-6, 1e3)
    _number(recipe, "kto_rejected_weight", 1e-6, 1e3)
    if v["stage"] == "dpo" and v.get("pref_loss", "sigmoid") not in PREF_LOSSES:
        raise UserError(f"{recipe.where('pref_loss')}: {v['pref_loss']!r} is not a loss of TRL's DPOTrainer "
                        f"(supported: {', '.join(sorted(PREF_LOSSES))})")
    if v["stage"] == "kto" and v.get("pref_ftx"):
        raise UserError(f"{recipe.where('pref_ftx')}: TRL's KTOTrainer has no added SFT loss; remove it or set 0")
    ref = v.get("ref_model")
    if ref and Path(str(ref)).exists() and not (Path(str(ref)) / "config.json").is_file():
        raise UserError(f"{recipe.where('ref_model')}: {ref} has no config.json (not a model folder)")


def dataset_file(entry: dict[str, Any]) -> Path:
    base = Path(entry.get("local_path") or Path(entry["_info"]).parent)
    return base / entry["file_name"]


def _looks_like_hub_id(text: str) -> bool:
    hub, sep, rest = text.partition(":")
    name = rest if sep and hub in ("modelscope", "openmind", "hf") else text
    parts = name.split("/")
    return len(parts) == 2 and all(parts) and not text.startswith((".", "/"))


def absolute_paths(values: dict[str, Any]) -> dict[str, Any]:
    """Paths made absolute: openMind requires it for custom_dataset_info, and torchrun's ranks may start elsewhere."""
    out = dict(values)
    for key in ("deepspeed", "output_dir", "dataset_dir"):
        if out.get(key):
            out[key] = str(shipped(Path(str(out[key]))).resolve())
    if out.get("custom_dataset_info"):
        out["custom_dataset_info"] = ",".join(str(Path(p.strip()).resolve()) for p in str(out["custom_dataset_info"]).split(","))
    for key in ("model_name_or_path", "ref_model"):
        if out.get(key) and Path(str(out[key])).exists():
            out[key] = str(Path(str(out[key])).resolve())
    return out
