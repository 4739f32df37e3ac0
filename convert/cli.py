"""Turn judged teacher answers into a training dataset for openMind or LLaMA-Factory, and register it.

Formats:
  openmind-cot  sharegpt with seed 002's Thought/Solution system prompt; the answer is
                <|begin_of_thought|> reasoning <|end_of_thought|> <|begin_of_solution|> answer <|end_of_solution|>
  sharegpt      the reasoning as <think>...</think> before the answer (LLaMA-Factory's R1 convention)
  alpaca        instruction / input / output / system / history (seed 003)
  pot           seed 000's program of thought as LLaMA-Factory's documented tool-call form (data/README.md):
                human (question), function_call (the thinking as <think>...</think>, then the code as the JSON
                {"name": "python", "arguments": {"code": ...}}), observation (what the code printed), gpt (the
                answer), and a `tools` column describing the python tool. The code is run in a sandbox (see
                convert/pot.py) and the observation is what it really printed; a sample whose code fails, times
                out, or prints a result that disagrees with its stated answer is left out, with the reason, in
                NAME.rejected.jsonl.

Every sharegpt-style row has a `system` field (empty when there is no system prompt): LLaMA-Factory reads a
declared column without a fallback. A run that yields no sample exits 2 and registers nothing. Files are
written with the permissions your umask allows, so a trainer running as another user can read them.

--keep accepted (default) keeps records with verdict accept (run `mathmind judge` first); all keeps all.
--register adds or replaces one entry in a dataset_info.json that both openMind (custom_dataset_info:
local_path a directory + file_name) and LLaMA-Factory (file_name relative to dataset_dir) read; every
other entry is kept; the file is written atomically.

  mathmind convert --in runs/judged.jsonl --out data/DS_r1_answer.json --format openmind-cot \\
      --register data/dataset_info.json --name DS_r1_answer
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
from dataclasses import dataclass
from functools import partial
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from mathmind.errors import UserError
from mathmind.jsonl import iter_jsonl, write_json_atomic, write_text_atomic

if TYPE_CHECKING:
    from mathmind.convert.pot import Limits


class Rejected(Exception):
    """This record cannot become a training sample (the reason is kept in NAME.rejected.jsonl)."""


def seed002_system() -> str:
    return resources.files("mathmind.recipes").joinpath("prompts", "system_thought_solution_seed002.txt").read_text("utf-8")


def _turn(role: str, value: str) -> dict[str, str]:
    return {"from": role, "value": value}


def _think(record: dict[str, Any]) -> str:
    reasoning = (record.get("reasoning") or "").strip()
    return f"<think>\n{reasoning}\n</think>\n\n" if reasoning else ""


def openmind_cot(record: dict[str, Any], system: str | None) -> dict[str, Any]:
    solution = (f"<|begin_of_thought|>\n\n{record.get('reasoning') or ''}<|end_of_thought|>\n\n"
                f"<|begin_of_solution|>\n\n{record['answer']}<|end_of_solution|>")
    return {"system": system if system is not None else seed002_system(),
            "conversations": [_turn("user", record["question"]), _turn("assistant", solution)]}


def sharegpt(record: dict[str, Any], system: str | None) -> dict[str, Any]:
    return {"conversations": [_turn("user", record["question"]), _turn("assistant", _think(record) + record["answer"])],
            "system": system or ""}


def alpaca(record: dict[str, Any], system: str | None) -> dict[str, Any]:
    return {"instruction": record["question"], "input": "", "output": _think(record) + record["answer"],
            "system": system or "", "history": []}


def json_turns(answer: str) -> Any:
    """The JSON list in a ```json block (its code turns hold ``` too, so decode rather than match)."""
    start = answer.find("[", max(answer.find("```json"), 0))
    if start < 0:
        raise json.JSONDecodeError("no JSON list", answer, 0)
    return json.JSONDecoder().raw_decode(answer, start)[0]


# The one tool a PoT sample calls, in the JSON-schema form LLaMA-Factory's `tools` column takes.
PYTHON_TOOL = {
    "name": "python",
    "description": "Run a Python 3 program (standard library and sympy) and return what it prints.",
    "parameters": {"type": "object", "properties": {"code": {"type": "string", "description": "the program"}},
                   "required": ["code"]},
}


def function_call(thinking: str, code: str) -> str:
    """A function_call turn: optional <think> block (LLaMA-Factory keeps it before the call), then the call as JSON."""
    call = json.dumps({"name": PYTHON_TOOL["name"], "arguments": {"code": code}}, ensure_ascii=False)
    return f"<think>\n{thinking}\n</think>\n\n{call}" if thinking else call


def pot(record: dict[str, Any], system: str | None, limits: "Limits | None" = None) -> dict[str, Any]:
    """Seed 000's turns (human, gpt thinking, function_call code, observation, gpt answer) as alternating
    human / function_call / observation / gpt turns: the teacher's text before a call becomes that call's
    thinking, its observation is replaced by what the code really printed, the text after the last one is the answer."""
    from mathmind.judge.answers import equivalent, final_answer
    from mathmind.convert.pot import Limits, code_of, run_program

    try:
        turns = json_turns(record["answer"])
    except json.JSONDecodeError as e:
        raise Rejected(f"pot_unparseable: the answer holds no JSON list of turns ({e.msg})") from None
    if not isinstance(turns, list) or not all(isinstance(t, dict) and {"from", "value"} <= set(t) for t in turns):
        raise Rejected("pot_unparseable: turns must be objects with `from` and `value`")
    if not any(t["from"] == "function_call" for t in turns):
        raise Rejected("pot_no_code: no function_call turn")
    out = [_turn("human", record["question"])]
    printed, text = "", []
    for turn in turns:
        if turn["from"] == "gpt":
            text.append(str(turn["value"]).strip())
        elif turn["from"] == "function_call":
            code = code_of(str(turn["value"]))
            if code is None:
                raise Rejected("pot_no_code: the function_call turn holds no Python")
            result = run_program(code, limits or Limits())
            if result.status != "ok":
                raise Rejected(f"pot_{result.status}: {result.error_line[:200]}")
            printed = result.stdout.strip()
            out += [_turn("function_call", function_call("\n\n".join(t for t in text if t), code.rstrip())),
                    _turn("observation", printed)]
            text = []
        # human turns (the question again) and the teacher's own observations (replaced above) are dropped
    answer = "\n\n".join(t for t in text if t)
    if not answer:
        raise Rejected("pot_no_answer: the turns do not end with the model's answer")
    out.append(_turn("gpt", answer))
    stated = final_answer(answer)
    stated_value = stated.value if stated else _last_number(answer)
    printed_value = _last_number(printed)
    if stated_value is None or printed_value is None:
        raise Rejected(f"pot_no_result: stated {stated_value!r}, printed {printed_value!r}")
    if not equivalent(printed_value, stated_value):
        raise Rejected(f"pot_disagrees: the code printed {printed_value}, the answer states {stated_value}")
    return {"conversations": out, "system": system or "", "tools": json.dumps([PYTHON_TOOL], ensure_ascii=False)}


def _last_number(text: str) -> str | None:
    from mathmind.judge.answers import NUMBER, number_value

    matches = list(NUMBER.finditer(text))
    return number_value(matches[-1].group(0)) if matches else None


@dataclass(frozen=True)
class Format:
    build: Callable[[dict[str, Any], str | None], dict[str, Any]]
    formatting: str                     # openMind / LLaMA-Factory `formatting`
    columns: dict[str, str]
    tags: dict[str, str] | None = None
    ranking: bool = False               # LLaMA-Factory preference data (chosen/rejected columns; `mathmind pairs`)


SHAREGPT_COLUMNS = {"messages": "conversations", "system": "system"}
USER_ASSISTANT = {"role_tag": "from", "content_tag": "value", "user_tag": "user", "assistant_tag": "assistant",
                  "system_tag": "system"}
# Seed 000's roles are LLaMA-Factory's sharegpt defaults.
HUMAN_GPT = {"role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt",
             "observation_tag": "observation", "function_tag": "function_call", "system_tag": "system"}
FORMATS: dict[str, Format] = {
    "openmind-cot": Format(openmind_cot, "sharegpt", SHAREGPT_COLUMNS, USER_ASSISTANT),
    "sharegpt": Format(sharegpt, "sharegpt", SHAREGPT_COLUMNS, USER_ASSISTANT),
    "alpaca": Format(alpaca, "alpaca", {"prompt": "instruction", "query": "input", "response": "output",
                                        "system": "system", "history": "history"}),
    "pot": Format(pot, "sharegpt", {**SHAREGPT_COLUMNS, "tools": "tools"}, HUMAN_GPT),
}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--in", dest="input", required=True, type=Path, metavar="FILE.jsonl", help="judged (or distilled) records")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR/NAME.json", help="the dataset, a JSON list (written atomically)")
    parser.add_argument("--format", required=True, choices=sorted(FORMATS))
    parser.add_argument("--keep", choices=("accepted", "all"), default="accepted",
                        help="accepted (default): only records the judge accepted; all: every record")
    parser.add_argument("--system", default=None, help="system prompt (openmind-cot default: seed 002's Thought/Solution prompt)")
    parser.add_argument("--register", type=Path, metavar="DIR/dataset_info.json", help="add or update the dataset's entry here")
    parser.add_argument("--name", default=None, help="dataset name in dataset_info.json (default: the --out file's stem)")
    parser.add_argument("--tokenizer", default=None, metavar="PATH", help="a local tokenizer, for token-length statistics")
    parser.add_argument("--pot-timeout", type=float, default=10.0, metavar="S",
                        help="pot: seconds of wall clock and CPU each program may take (default 10)")
    parser.add_argument("--cutoff-len", type=int, default=4096,
                        help="warn about samples longer than this many tokens (default 4096, seed 002's advice for long CoT)")


def register(info_path: Path, name: str, out: Path, fmt: Format) -> dict[str, Any]:
    """Add or replace `name` in dataset_info.json, keeping every other entry."""
    info: dict[str, Any] = {}
    if info_path.exists():
        try:
            info = json.loads(info_path.read_text(encoding="utf-8") or "{}")
        except json.JSONDecodeError as e:
            raise UserError(f"{info_path}: not valid JSON (line {e.lineno}: {e.msg}); fix it or pick another --register file") from None
        if not isinstance(info, dict):
            raise UserError(f"{info_path}: expected a JSON object of dataset entries")
    dataset_dir = info_path.resolve().parent
    entry: dict[str, Any] = {
        "local_path": str(dataset_dir),                                # openMind: a directory
        "file_name": os.path.relpath(out.resolve(), dataset_dir),      # LLaMA-Factory: relative to dataset_dir
        "formatting": fmt.formatting,
        "columns": fmt.columns,
    }
    if fmt.tags:
        entry["tags"] = fmt.tags
    if fmt.ranking:
        entry["ranking"] = True
    info[name] = entry
    write_json_atomic(info_path, info)
    return entry


def token_lengths(samples: list[dict[str, Any]], tokenizer_path: str) -> list[int]:
    try:
        from transformers import AutoTokenizer
    except ImportError:
        raise UserError("--tokenizer needs transformers: pip install 'mathmind[train]'") from None
    from mathmind.pull import pull

    try:
        tokenizer = AutoTokenizer.from_pretrained(pull(tokenizer_path))
    except (OSError, ValueError) as e:
        raise UserError(f"--tokenizer {tokenizer_path}: cannot load a tokenizer there ({e})") from None
    texts = []
    for s in samples:
        if "conversations" in s:
            texts.append("\n".join([s.get("system") or ""] + [t["value"] for t in s["conversations"]]))
        else:
            texts.append("\n".join([s["system"], s["instruction"], s["input"], s["output"]]))
    return [len(ids) for ids in tokenizer(texts)["input_ids"]]


def run(args: argparse.Namespace) -> int:
    if not args.input.is_file():
        raise UserError(f"--in {args.input}: no such file")
    if args.out.suffix != ".json":
        raise UserError(f"--out {args.out}: the dataset is a JSON list; name it NAME.json")
    fmt = FORMATS[args.format]
    build = fmt.build
    if fmt.build is pot:
        from mathmind.convert.pot import Limits

        build = partial(pot, limits=Limits(wall_s=args.pot_timeout, cpu_s=max(1, math.ceil(args.pot_timeout))))
    samples, rejected, skipped = [], [], 0
    for line_no, record in iter_jsonl(args.input):
        for field in ("question", "answer"):
            if not isinstance(record.get(field), str):
                raise UserError(f"{args.input}:{line_no}: field {field!r} is missing or not text")
        if args.keep == "accepted":
            if "verdict" not in record:
                raise UserError(f"{args.input}:{line_no}: no `verdict` field: run `mathmind judge` first, or pass --keep all")
            if record["verdict"] != "accept":
                skipped += 1
                continue
        try:
            samples.append(build(record, args.system))
        except Rejected as e:
            rejected.append({"id": record.get("id"), "line": line_no, "reason": str(e)})
    rejected_path = args.out.with_name(args.out.stem + ".rejected.jsonl")
    if rejected:
        write_text_atomic(rejected_path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rejected))
    else:
        rejected_path.unlink(missing_ok=True)
    counts = f"{skipped} not accepted by the judge, {len(rejected)} rejected" + (f" (reasons in {rejected_path})" if rejected else "")
    if not samples:   # trainers fail late on an empty dataset ("corresponds to no data"); say why now
        raise UserError(f"{args.input}: no {args.format} sample could be made ({counts}); "
                        f"{args.out} was not written" + (" and nothing was registered" if args.register else ""))
    write_json_atomic(args.out, samples)
    print(f"convert ({args.format}): {len(samples)} samples -> {args.out}; {counts}", file=sys.stderr)
    if args.register:
        name = args.name or args.out.stem
        entry = register(args.register, name, args.out, fmt)
        print(f"registered {name!r} in {args.register} (file_name {entry['file_name']}, formatting {entry['formatting']})",
              file=sys.stderr)
    if args.tokenizer:
        lengths = token_lengths(samples, args.tokenizer)
        over = sum(n > args.cutoff_len for n in lengths)
        q = statistics.quantiles(lengths, n=20) if len(lengths) > 1 else lengths * 19
        print(f"tokens per sample: min {min(lengths)}, median {statistics.median(lengths):.0f}, p95 {q[-1]:.0f}, max {max(lengths)}",
              file=sys.stderr)
        if over:
            print(f"warning: {over} of {len(lengths)} samples are longer than cutoff_len {args.cutoff_len} and will be cut; "
                  f"raise cutoff_len (seed 002 advises 4096 for long CoT)", file=sys.stderr)
    return 0
