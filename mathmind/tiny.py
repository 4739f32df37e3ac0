"""Build a tiny Qwen2-architecture model offline: a byte-level BPE tokenizer trained on your text, a small
Qwen2 config, random weights, Qwen's ChatML template (with generation markers for answer-only loss).

For smoke tests and the demo, where no hub is reachable: it runs through exactly the code paths a
real Qwen2.5 checkpoint does (AutoModelForCausalLM, chat template, openMind's `model_group: qwen2`).
The tokenizer is saved as PreTrainedTokenizerFast so that transformers 4.45 (openMind's pin) loads
it too; transformers 5 would write `TokenizersBackend`, which 4.45 does not know.

  mathmind tiny-model --out models/tiny --corpus data/train.jsonl --field question
"""

from __future__ import annotations

import argparse
import json
import sys
from importlib import resources
from pathlib import Path
from typing import Iterable

from mathmind.errors import UserError

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
# Everything the chat template writes around the text, so the tokenizer learns it whatever the corpus.
TEMPLATE_TEXT = "system\nYou are a helpful assistant.\nuser\nassistant\n<tool_response>\n</tool_response>\n0123456789"


def qwen_chat_template() -> str:
    return resources.files("mathmind.recipes").joinpath("templates", "qwen.jinja").read_text("utf-8")


def build_tiny_model(out: Path, corpus: Iterable[str], vocab_size: int = 1024, hidden_size: int = 64,
                     layers: int = 2, heads: int = 4, max_positions: int = 1024, seed: int = 0) -> Path:
    """Write tokenizer, config and random weights of a tiny Qwen2 model to `out`; returns `out`."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    tokenizer = Tokenizer(models.BPE())
    # One token per digit: arithmetic is learnable by a tiny model only if numbers are not merged into words.
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                       pre_tokenizers.ByteLevel(add_prefix_space=False)])
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tokenizer.train_from_iterator([TEMPLATE_TEXT, *corpus], trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                   chat_template=qwen_chat_template(), model_max_length=max_positions)
    out.mkdir(parents=True, exist_ok=True)
    fast.save_pretrained(out)
    portable_tokenizer_config(out)
    torch.manual_seed(seed)
    config = Qwen2Config(vocab_size=len(fast), hidden_size=hidden_size, intermediate_size=hidden_size * 4,
                         num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=heads,
                         max_position_embeddings=max_positions, tie_word_embeddings=True,
                         bos_token_id=fast.convert_tokens_to_ids("<|endoftext|>"),
                         eos_token_id=fast.convert_tokens_to_ids("<|im_end|>"),
                         pad_token_id=fast.convert_tokens_to_ids("<|endoftext|>"))
    model = Qwen2ForCausalLM(config)
    model.generation_config.eos_token_id = config.eos_token_id
    model.generation_config.pad_token_id = config.pad_token_id
    model.save_pretrained(out)
    return out


def portable_tokenizer_config(folder: Path) -> None:
    """Make a saved tokenizer loadable by transformers 4.45 as well as 5 (openMind's environment pins 4.45)."""
    path = folder / "tokenizer_config.json"
    if path.exists():
        config = json.loads(path.read_text(encoding="utf-8"))
        if config.get("tokenizer_class") in (None, "TokenizersBackend"):
            config["tokenizer_class"] = "PreTrainedTokenizerFast"
        template = folder / "chat_template.jinja"   # transformers 4.45 reads the template from the config only
        if template.exists() and "chat_template" not in config:
            config["chat_template"] = template.read_text(encoding="utf-8")
        path.write_text(json.dumps(config, ensure_ascii=False, indent=2), encoding="utf-8")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, type=Path, help="folder to write the model to")
    parser.add_argument("--corpus", type=Path, action="append", default=[],
                        help="jsonl or text file(s) to train the tokenizer on (repeatable; default: a built-in sample)")
    parser.add_argument("--field", action="append", default=[], help="jsonl fields to read (default: every string field)")
    parser.add_argument("--vocab-size", type=int, default=1024)
    parser.add_argument("--hidden-size", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)


def _texts(paths: list[Path], fields: list[str]) -> Iterable[str]:
    from mathmind.jsonl import iter_jsonl

    for path in paths:
        if not path.is_file():
            raise UserError(f"--corpus {path}: no such file")
        if path.suffix == ".jsonl":
            for _, record in iter_jsonl(path):
                yield from (str(v) for k, v in record.items() if (k in fields if fields else isinstance(v, str)))
        else:
            yield path.read_text(encoding="utf-8")


def run(args: argparse.Namespace) -> int:
    from mathmind.problems import make_problems

    corpus = list(_texts(args.corpus, args.field)) or [p["question"] + " " + p["answer"] for p in make_problems(500)]
    try:
        build_tiny_model(args.out, corpus, args.vocab_size, args.hidden_size, args.layers, args.heads, seed=args.seed)
    except ImportError as e:
        raise UserError(f"tiny-model needs the training extra ({e.name} is missing): pip install 'mathmind[train]'") from None
    print(f"tiny Qwen2 model (random weights) -> {args.out}", file=sys.stderr)
    return 0
