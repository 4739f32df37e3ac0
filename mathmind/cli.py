"""The `mathmind` command: one entry point, one subcommand per stage.

Each subcommand lives in its own module with `configure(parser)` and `run(args) -> int`. Modules are
light at import time (heavy libraries are imported inside `run`), so `mathmind --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from dataclasses import dataclass, field

from mathmind import __version__
from mathmind.errors import UserError

# What a pipeline step's files are (`mathmind run`). A step's output lives under RUN/<step>/ at the path named
# here; an input of kind K accepts an output of kind K, and `records` also accepts `judged` (judged records are
# records with a verdict). Add a kind here when a new subcommand writes something none of these describe.
KINDS: dict[str, str] = {
    "records": "records.jsonl",     # jsonl, one record per answer (distill's fields: id, question, gold, answer, ...)
    "judged": "judged.jsonl",       # records + verdict, extracted, gold_value, judge, reason
    "dataset": "data",              # a folder: NAME.json registered in dataset_info.json (NAME: the step's `name`)
    "model": "model",               # a model folder (config.json, weights, tokenizer); train's output_dir
    "eval": "eval",                 # a folder with summary.json (mathmind eval)
    "report": "report.md",          # a markdown report (+ its figures beside it)
}


@dataclass(frozen=True)
class Command:
    """A subcommand: its module (with `configure(parser)` and `run(args) -> int`), its one-line help, and, for
    pipelines, what it reads and writes.

    inputs: option -> kind. A pipeline step fills the option from an earlier step's output (`inputs: {in: answer}`);
            `kind?` is optional (the step may give the option as a setting instead: `questions: data.jsonl`),
            `kind+` takes one or more steps.
    output: the kind it writes under RUN/<step>/ (KINDS), or None when a later step reads nothing from it.
    files:  how the runner passes those paths, as argument groups with placeholders: {out} (this step's output
            path), {<input>} (that input's path(s)), {<input>.name} and {name} (the input's / this step's `name`
            setting, default the step's name), {<setting>} (a setting, consumed). A group whose placeholder has no
            value is left out. Default: `--<input> {<input>}` per input, then `--out {out}`.
    """
    module: str
    help: str
    inputs: dict[str, str] = field(default_factory=dict)
    output: str | None = None
    files: tuple[str, ...] | None = None


# name -> Command. A registry, not an if-chain: adding a stage (and making it a pipeline step) is one entry.
COMMANDS: dict[str, Command] = {
    "run": Command("mathmind.pipeline", "run a pipeline of named steps (distill, judge, convert, train, eval, ...): planned, fingerprinted, resumable"),
    "doctor": Command("mathmind.hardware.doctor", "show hardware, library versions, the launcher `train` would use, and what to fix"),
    "distill": Command("mathmind.distill.cli", "ask a teacher model (OpenAI-compatible API) to answer questions; resumable jsonl out",
                       inputs={"questions": "records?"}, output="records"),
    "judge": Command("mathmind.judge.cli", "accept or reject teacher answers: rules (math-verify) first, an LLM where they cannot decide",
                     inputs={"in": "records"}, output="judged"),
    "convert": Command("mathmind.convert.cli", "build an openMind / LLaMA-Factory dataset (openmind-cot, sharegpt, alpaca, pot) and register it",
                       inputs={"in": "records"}, output="dataset",
                       files=("--in {in}", "--out {out}/{name}.json", "--register {out}/dataset_info.json", "--name {name}")),
    "generate": Command("mathmind.distill.generate", "make new, harder problems from seed problems with Orca-Math's agents (Ask Me Anything, Suggester & Editor)",
                        inputs={"questions": "records?"}, output="records"),
    "sample": Command("mathmind.distill.sample", "sample k answers per question from the student (server or local model), the teacher's answer as gold",
                      inputs={"questions": "records", "model": "model?"}, output="records",
                      files=("--questions {questions}", "--model-path {model}", "--out {out}")),
    "pairs": Command("mathmind.convert.pairs", "KTO examples and DPO pairs from judged student samples (TRL formats), registered for LLaMA-Factory",
                     inputs={"in": "judged"}, output="dataset", files=("--in {in}", "--out {out}", "--name {name}")),
    "decontam": Command("mathmind.distill.decontam", "flag training questions that leak test questions (TF-IDF + Jaccard, 8-grams)"),
    "train": Command("mathmind.launch.train", "train from a recipe: openmind-cli on Ascend, else torchrun + TRL (+ DeepSpeed); --dry-run shows how",
                     inputs={"dataset": "dataset?", "model": "model?"}, output="model",
                     files=("{recipe}", "output_dir={out}", "dataset={dataset.name}", "custom_dataset_info={dataset}/dataset_info.json",
                            "model_name_or_path={model}")),
    "eval": Command("mathmind.eval.run", "evaluate a local or served model with lm-evaluation-harness (gsm8k, mgsm, mmlu); summary.json",
                    inputs={"model": "model?"}, output="eval", files=("--model {model}", "--out {out}", "--name {name}")),
    "report": Command("mathmind.eval.report", "compare eval runs: markdown table with deltas to a baseline, PNG charts, breakdowns",
                      inputs={"runs": "eval+"}, output="report", files=("{runs}", "--out {out}")),
    "review": Command("mathmind.judge.review", "review undecided answers in a local web page (judged records or eval samples); verdicts flow back"),
    "export": Command("mathmind.launch.export", "merge a LoRA adapter into its base model", inputs={"adapter": "model"}, output="model"),
    "pull": Command("mathmind.pull", "download a model from ModelScope, the openMind hub or Hugging Face (cache first) and print its folder"),
    "tiny-model": Command("mathmind.tiny", "build a tiny Qwen2 model offline (own BPE tokenizer, random weights) for smoke tests",
                          output="model"),
    "demo": Command("mathmind.demo", "run every stage on an embedded offline default (CPU, no network, a stand-in teacher)"),
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
    for name, command in COMMANDS.items():
        module = importlib.import_module(command.module)
        command_parser = sub.add_parser(name, help=command.help, description=module.__doc__,
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
