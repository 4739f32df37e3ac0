"""Merge a LoRA adapter into its base model and save a plain model folder (for eval, serving, openMind).

The base is the adapter's `base_model_name_or_path` unless --base names another folder or hub id.
The tokenizer is saved so that openMind's transformers 4.45 loads it too.

  mathmind export --adapter saves/qwen2.5_7b_instruct_DS_r1_distill_lora --out saves/merged
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mathmind.errors import UserError


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--adapter", required=True, type=Path, help="folder with adapter_config.json (a LoRA output_dir)")
    parser.add_argument("--out", required=True, type=Path, help="folder for the merged model")
    parser.add_argument("--base", default=None, help="base model folder or hub id (default: from adapter_config.json)")


def run(args: argparse.Namespace) -> int:
    config_path = args.adapter / "adapter_config.json"
    if not config_path.is_file():
        raise UserError(f"--adapter {args.adapter}: no adapter_config.json (is this a LoRA output_dir?)")
    base = args.base or json.loads(config_path.read_text(encoding="utf-8")).get("base_model_name_or_path")
    if not base:
        raise UserError(f"{config_path}: no base_model_name_or_path; pass --base")
    from mathmind.pull import pull

    base = pull(base)
    try:
        from peft import PeftModel
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as e:
        raise UserError(f"export needs the training extra ({e.name} is missing): pip install 'mathmind[train]'") from None
    from mathmind.tiny import portable_tokenizer_config

    model = AutoModelForCausalLM.from_pretrained(base, dtype="auto")
    merged = PeftModel.from_pretrained(model, str(args.adapter)).merge_and_unload()
    merged.save_pretrained(args.out)
    tokenizer_source = args.adapter if (args.adapter / "tokenizer_config.json").is_file() else base
    AutoTokenizer.from_pretrained(tokenizer_source).save_pretrained(args.out)
    portable_tokenizer_config(args.out)
    print(f"export: {args.adapter} merged into {base} -> {args.out}", file=sys.stderr)
    return 0
