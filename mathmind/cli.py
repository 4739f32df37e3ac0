"""The `mathmind` command: one entry point, one subcommand per stage.

Each subcommand lives in its own module with `configure(parser)` and `run(args) -> int`. Modules are
light at import time (heavy libraries are imported inside `run`), so `mathmind --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from mathmind import __version__
from mathmind.errors import UserError

# name -> (module, one-line help). A registry, not an if-chain: adding a stage is one line.
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("mathmind.pipeline", "run a pipeline file: distill -> judge -> convert -> train -> eval -> report, resumable"),
    "doctor": ("mathmind.hardware.doctor", "show hardware, library versions, the launcher `train` would use, and what to fix"),
    "distill": ("mathmind.distill.cli", "ask a teacher model (OpenAI-compatible API) to answer questions; resumable jsonl out"),
    "judge": ("mathmind.judge.cli", "accept or reject teacher answers: rules (math-verify) first, an LLM where they cannot decide"),
    "convert": ("mathmind.convert.cli", "build an openMind / LLaMA-Factory dataset (openmind-cot, sharegpt, alpaca, pot) and register it"),
    "decontam": ("mathmind.distill.decontam", "flag training questions that leak test questions (TF-IDF + Jaccard, 8-grams)"),
    "train": ("mathmind.launch.train", "train from a recipe: openmind-cli on Ascend, else torchrun + TRL (+ DeepSpeed); --dry-run shows how"),
    "eval": ("mathmind.eval.run", "evaluate a local or served model with lm-evaluation-harness (gsm8k, mgsm, mmlu); summary.json"),
    "report": ("mathmind.eval.report", "compare eval runs: markdown table with deltas to a baseline, PNG charts, breakdowns"),
    "export": ("mathmind.launch.export", "merge a LoRA adapter into its base model"),
    "pull": ("mathmind.pull", "download a model from ModelScope, the openMind hub or Hugging Face (cache first) and print its folder"),
    "tiny-model": ("mathmind.tiny", "build a tiny Qwen2 model offline (own BPE tokenizer, random weights) for smoke tests"),
    "demo": ("mathmind.demo", "run every stage on an embedded offline default (CPU, no network, a stand-in teacher)"),
}


class _Parser(argparse.ArgumentParser):
    """argparse, but errors are one line plus the usage, exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="mathmind",
        description="Distil a reasoning teacher (DeepSeek-R1 or any OpenAI-compatible model) into a small "
        "math model: distill -> judge -> convert -> train -> eval -> report. Ascend 910B first, CUDA and CPU too.",
    )
    parser.add_argument("--version", action="version", version=f"mathmind {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(module_name)
        command_parser = sub.add_parser(name, help=help_text, description=module.__doc__,
                                        formatter_class=argparse.RawDescriptionHelpFormatter)
        module.configure(command_parser)
        command_parser.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    # `key=value` recipe overrides may come after options (`train R.yaml --dry-run max_steps=5`).
    if extra and hasattr(args, "overrides") and all("=" in e and not e.startswith("-") for e in extra):
        args.overrides = [*args.overrides, *extra]
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return int(args._run(args) or 0)
    except UserError as e:
        sys.stderr.write(f"mathmind {args.command}: error: {e}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write(f"mathmind {args.command}: interrupted; finished work is kept, re-run to resume\n")
        return 130


if __name__ == "__main__":
    sys.exit(main())
