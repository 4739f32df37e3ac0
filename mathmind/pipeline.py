"""Run a pipeline: named steps, each one subcommand, fed by the outputs of earlier steps.

  run_dir: runs/seed002
  steps:
    answer:                       # a step's name: its output goes under RUN/answer/
      run: distill                # the subcommand (any in `mathmind --help` that declares an output)
      settings:                   # the subcommand's options: `concurrency: 30` is --concurrency 30
        questions: data/train.jsonl
    judged:
      run: judge
      inputs: {in: answer}        # option -> earlier step; the runner passes that step's output path
    ...

What each subcommand reads and writes (its input and output kinds) is declared beside it in
mathmind/cli.py (COMMANDS, KINDS), so the whole file is checked before anything runs: a subcommand,
setting or input that does not exist, an input naming no earlier step, a cycle, a kind mismatch (a
model where a dataset is expected) are one-line errors naming the step and the key.

Each step's fingerprint (its command line, the content of the local files its settings name, the
content of its inputs' outputs) is kept in RUN/pipeline_state.json. A re-run skips a finished step
whose fingerprint is unchanged, resumes an interrupted one (distill and judge per record, train from
its last checkpoint), and re-runs from scratch a step whose fingerprint changed; a step whose input
changed has changed too, so everything downstream follows. Paths are relative to where you run.

  mathmind run recipes/pipelines/seed002_qwen2.5_7b.yaml --plan    # what would run, and why; runs nothing
  mathmind run PIPELINE.yaml --from train    # earlier steps' existing outputs are trusted this once
  mathmind run PIPELINE.yaml --only eval_after --force
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import json
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

from mathmind.errors import UserError
from mathmind.jsonl import read_yaml_mapping, write_json_atomic

STEP_KEYS = ("run", "inputs", "settings")
OLD_STAGES = ("distill", "judge", "convert", "train", "eval", "report")   # the sections of an old-style file
PLACEHOLDER = re.compile(r"\{([A-Za-z_][\w-]*)(\.name)?\}")
SMALL_FILE = 64 << 20      # files up to this size are hashed by content; larger ones (weights) by size and time

# Flags that change how a step runs, not what it produces: changing them does not re-run a step.
HOW_FLAGS = {"--base-url", "--no-progress", "--concurrency", "--rpm", "--timeout", "--max-retries", "--retry-base-delay",
             "--batch-size", "--num-concurrent", "--api-key-env"}


@dataclass
class Step:
    name: str
    command: str
    inputs: dict[str, list[str]]        # option -> names of the steps it reads
    settings: dict[str, Any]
    argv: list[str]
    out: Path | None                    # this step's output path (RUN/<name>/<kind's path>), None if it declares none
    dir: Path                           # RUN/<name>: removed before a re-run from scratch
    files: list[str] = field(default_factory=list)    # local paths its settings name: their content is fingerprinted

    @property
    def upstream(self) -> list[str]:
        return [name for names in self.inputs.values() for name in names]


def flags(settings: dict[str, Any]) -> list[str]:
    """Settings as subcommand arguments: `max_retries: 3` -> --max-retries 3, `stream: true` -> --stream,
    a list -> comma-joined, a mapping (train's `overrides`) -> key=value words."""
    words = [f"{k}={v if isinstance(v, str) else json.dumps(v)}" for value in settings.values() if isinstance(value, dict)
             for k, v in value.items()]          # positional, so before the options
    out: list[str] = []
    for key, value in settings.items():
        if value is None or value is False or isinstance(value, dict):
            continue
        flag = "--" + key.replace("_", "-")
        if value is True:
            out.append(flag)
        elif isinstance(value, list):
            out += [flag, ",".join(map(str, value))]
        else:
            out += [flag, str(value)]
    return words + out


def content_of(item: str) -> str:
    """A file's content hash; a folder's file names with their content (small files) or size and time (weights);
    anything else (a hub id, a URL) stands for itself."""
    path = Path(item.split("?", 1)[0])
    if path.is_file():
        return _file_hash(path)
    if path.is_dir():
        listing = [(str(f.relative_to(path)), _file_hash(f)) for f in sorted(path.rglob("*")) if f.is_file()]
        return hashlib.sha256(json.dumps(listing).encode()).hexdigest()
    return item


def _file_hash(path: Path) -> str:
    stat = path.stat()
    if stat.st_size > SMALL_FILE:
        return f"{stat.st_size}:{stat.st_mtime_ns}"
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _local_paths(value: Any) -> list[str]:
    """Strings in a setting that name an existing file or folder (a recipe, a question file, a model)."""
    from mathmind.launch.recipe import shipped

    if isinstance(value, dict):
        return [p for v in value.values() for p in _local_paths(v)]
    if isinstance(value, list):
        return [p for v in value for p in _local_paths(v)]
    if isinstance(value, str) and value and "\n" not in value and shipped(Path(value)).exists():
        return [str(shipped(Path(value)))]
    return []


class _ArgError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise _ArgError(message)


def _subcommand_parser(command: str) -> argparse.ArgumentParser:
    import importlib

    from mathmind.cli import COMMANDS

    parser = _Parser(prog=f"mathmind {command}", add_help=False)
    importlib.import_module(COMMANDS[command].module).configure(parser)
    return parser


def _kind_fits(wanted: str, given: str) -> bool:
    return wanted == given or (wanted == "records" and given == "judged")


def _cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """A cycle among the steps' inputs, as a path a -> b -> a, or None."""
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt] if nxt in path else [node, nxt]
            if nxt in graph and not state.get(nxt) and (found := visit(nxt, path + [nxt])):
                return found
        state[node] = 2
        return None

    for node in graph:
        if not state.get(node) and (found := visit(node, [node])):
            return found
    return None


def plan(pipeline: dict[str, Any], run_dir: Path) -> list[Step]:
    """The steps in order with their command lines, checked against the registry; nothing is run."""
    from mathmind.cli import COMMANDS, KINDS

    raw = pipeline["steps"]
    graph: dict[str, list[str]] = {}
    for name, spec in raw.items():
        where = f"step {name!r}"
        if not isinstance(spec, dict):
            raise UserError(f"{where}: expected a mapping with `run` (and `inputs`, `settings`), got {type(spec).__name__}")
        unknown = [k for k in spec if k not in STEP_KEYS]
        if unknown:
            raise UserError(f"{where}: unknown key {unknown[0]!r} (a step has {', '.join(STEP_KEYS)}; options go under `settings`)")
        if not isinstance(spec.get("inputs") or {}, dict):
            raise UserError(f"{where}: `inputs` must map the subcommand's options to earlier steps, e.g. {{in: answer}}")
        graph[name] = [str(s) for v in (spec.get("inputs") or {}).values() for s in (v if isinstance(v, list) else [v])]
    cycle = _cycle(graph)
    if cycle:
        raise UserError(f"step {cycle[0]!r}: inputs form a cycle: {' -> '.join(cycle)}")

    steps: dict[str, Step] = {}
    for name, spec in raw.items():
        where = f"step {name!r}"
        if not re.fullmatch(r"[A-Za-z0-9][\w.-]*", str(name)):
            raise UserError(f"{where}: a step name is letters, digits, _ . - (it names the folder RUN/{name}/)")
        command = spec.get("run")
        if command not in COMMANDS:
            close = difflib.get_close_matches(str(command), COMMANDS, 1)
            raise UserError(f"{where}: run: {command!r} is not a mathmind subcommand"
                            + (f" (did you mean {close[0]!r}?)" if close else f" ({', '.join(COMMANDS)})"))
        declared = COMMANDS[command]
        if declared.output is None:
            raise UserError(f"{where}: run: {command!r} writes nothing a pipeline step can track (no output kind in mathmind/cli.py)")
        settings = spec.get("settings") or {}
        if not isinstance(settings, dict):
            raise UserError(f"{where}: `settings` must be a mapping of the subcommand's options")
        settings = dict(settings)

        inputs: dict[str, list[str]] = {}
        for option, given in (spec.get("inputs") or {}).items():
            key = f"{where}: inputs.{option}"
            if option not in declared.inputs:
                raise UserError(f"{key}: `mathmind {command}` reads no input {option!r} "
                                f"(its inputs: {', '.join(declared.inputs) or 'none'})")
            kind = declared.inputs[option]
            names = [str(s) for s in (given if isinstance(given, list) else [given])]
            if len(names) != 1 and not kind.endswith("+"):
                raise UserError(f"{key}: takes one step, got {len(names)}")
            for source in names:
                if source not in raw:
                    raise UserError(f"{key}: {source!r} names no step (steps: {', '.join(raw)})")
                if source not in steps:
                    raise UserError(f"{key}: {source!r} comes later in the file; inputs name earlier steps (move it up)")
                made = COMMANDS[steps[source].command].output
                wanted = kind.rstrip("?+")
                if not _kind_fits(wanted, made):
                    raise UserError(f"{key}: {source!r} ({steps[source].command}) writes {made}, "
                                    f"but `{command} --{option}` reads {wanted}")
            if option in settings:
                raise UserError(f"{key}: also given in settings; give it one way")
            inputs[option] = names
        for option, kind in declared.inputs.items():
            if not kind.endswith("?") and option not in inputs:
                raise UserError(f"{where}: inputs.{option} is required: name the earlier step whose {kind.rstrip('+')} "
                                f"`mathmind {command}` reads (e.g. inputs: {{{option}: STEP}})")

        step_dir = run_dir / name
        out = step_dir / KINDS[declared.output]
        argv, consumed, reserved = _file_arguments(command, declared, inputs, settings, out, name, steps)
        for key, value in settings.items():
            if isinstance(value, dict) and (taken := reserved & set(value)):
                raise UserError(f"{where}: settings.{key}.{sorted(taken)[0]}: the runner sets it (outputs go under {step_dir}/)")
        rest = {k: v for k, v in settings.items() if k not in consumed}
        argv = [command, *argv, *flags(rest)]
        _check_arguments(command, argv, rest, where)
        steps[name] = Step(name, command, inputs, settings, argv, out, step_dir, _local_paths(settings))
    return list(steps.values())


def _file_arguments(command: str, declared: Any, inputs: dict[str, list[str]], settings: dict[str, Any], out: Path, name: str,
                    steps: dict[str, Step]) -> tuple[list[str], set[str], set[str]]:
    """The registry's `files` groups filled in, the settings they consumed, and the `key=` words that carry a path
    (an override may not move them; a name such as `dataset=` may be overridden: `pairs` registers NAME_kto)."""
    groups = declared.files or (*(f"--{o} {{{o}}}" for o in declared.inputs), "--out {out}")
    consumed: set[str] = set()
    reserved: set[str] = set()
    argv: list[str] = []
    for group in groups:
        words: list[list[str]] = []
        for word in group.split():
            values: list[str] | None = [word]
            for match in PLACEHOLDER.finditer(word):
                key, dotted = match.group(1), match.group(2)
                if key == "out":
                    found = [str(out)]
                elif key == "name":
                    consumed.add("name")
                    found = [str(settings.get("name") or name)]
                elif key in inputs:
                    found = [str(steps[s].settings.get("name") or s) if dotted else str(steps[s].out) for s in inputs[key]]
                elif key in declared.inputs:
                    found = []                              # an optional input not given as a step
                elif settings.get(key) is None:
                    raise UserError(f"step {name!r}: settings.{key} is required (`mathmind {command}` "
                                    f"takes it as {match.group(0)})")
                else:
                    consumed.add(key)
                    found = [str(settings[key])]
                if not found:
                    values = None
                    break
                values = [v.replace(match.group(0), f) for v in values for f in found]   # {runs}: one word per step
            if values is None:
                words = []
                break
            words.append(values)
            if "=" in word and any(m.group(1) == "out" or (m.group(1) in inputs and not m.group(2)) for m in PLACEHOLDER.finditer(word)):
                reserved.add(word.split("=", 1)[0])
        argv += [w for ws in words for w in ws]
    return argv, consumed, reserved


def _check_arguments(command: str, argv: list[str], settings: dict[str, Any], where: str) -> None:
    """Every setting is an option of the subcommand, and the whole command line parses."""
    parser = _subcommand_parser(command)
    options = {s for a in parser._actions for s in a.option_strings}
    for key, value in settings.items():
        if isinstance(value, dict):
            continue
        flag = "--" + key.replace("_", "-")
        if flag not in options:
            close = difflib.get_close_matches(flag, options, 1)
            raise UserError(f"{where}: settings.{key}: not an option of `mathmind {command}`"
                            + (f" (did you mean {close[0][2:].replace('-', '_')}?)" if close else ""))
    try:
        parser.parse_args(argv[1:])
    except _ArgError as e:
        raise UserError(f"{where} (mathmind {command}): {e}") from None


def fingerprint_parts(step: Step) -> dict[str, Any]:
    """What defines a step's work: its command line (without how-to-run flags), the content of the local files
    its settings name, and the content of its inputs' outputs."""
    argv = [a for i, a in enumerate(step.argv) if a not in HOW_FLAGS and (i == 0 or step.argv[i - 1] not in HOW_FLAGS)]
    return {"argv": hashlib.sha256(json.dumps(argv).encode()).hexdigest()[:16],
            "files": {f: content_of(f)[:16] for f in step.files},
            "inputs": {name: None for name in step.upstream}}


def fill_inputs(parts: dict[str, Any], steps: dict[str, Step]) -> dict[str, Any]:
    """The content of each input's output, once that output is final."""
    return {**parts, "inputs": {name: content_of(str(steps[name].out))[:16] for name in parts["inputs"]}}


def digest(parts: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def _changed(old: dict[str, Any], new: dict[str, Any]) -> str:
    if old.get("argv") != new["argv"]:
        return "settings"
    files = [f for f in new["files"] if old.get("files", {}).get(f) != new["files"][f]]
    if files:
        return f"file {files[0]}"
    inputs = [n for n in new["inputs"] if old.get("inputs", {}).get(n) != new["inputs"][n]]
    return f"input {inputs[0]}'s output" if inputs else "settings"


@dataclass
class Decision:
    action: str          # skip | run | resume | rerun | trusted | unselected | pending
    why: str


def decide(step: Step, parts: dict[str, Any], record: dict[str, Any], selected: bool, trusted: bool,
           force: bool, pending_inputs: list[str]) -> Decision:
    """What to do with one step. `pending_inputs`: inputs that run before it in this invocation (plan only)."""
    if not selected:
        if record.get("status") == "done" and record.get("fingerprint") == digest(parts) and not pending_inputs:
            return Decision("skip", "not selected; unchanged")
        if trusted:
            return Decision("trusted", "not run: its existing output is used by this invocation only, not recorded as done")
        return Decision("unselected", "not selected")
    if force:
        return Decision("rerun", "forced: from scratch")
    if pending_inputs:
        if not record:
            return Decision("run", "new")
        old = record.get("parts", {})
        if old.get("argv") != parts["argv"] or any(old.get("files", {}).get(f) != h for f, h in parts["files"].items()):
            return Decision("rerun", f"changed: {_changed(old, {**parts, 'inputs': {}})}")
        return Decision("pending", f"runs after {', '.join(pending_inputs)} if its output changes, else "
                                   + ("skipped" if record.get("status") == "done" else "resumed"))
    if not record:
        return Decision("run", "new")
    if record.get("fingerprint") != digest(parts):
        return Decision("rerun", f"changed: {_changed(record.get('parts', {}), parts)}")
    if record.get("status") == "done" and step.out is not None and not step.out.exists():
        return Decision("rerun", f"its output {step.out} is gone")
    if record.get("status") == "done":
        return Decision("skip", "unchanged, skipped")
    return Decision("resume", "interrupted before: resuming")


def remove_outputs(step: Step) -> None:
    if step.dir.is_dir():
        shutil.rmtree(step.dir)


def _old_style(pipeline: dict[str, Any]) -> bool:
    return "steps" not in pipeline and any(k in pipeline for k in OLD_STAGES)


def load_pipeline(path: Path) -> dict[str, Any]:
    pipeline = read_yaml_mapping(path, "pipeline")
    if _old_style(pipeline):
        raise UserError(f"{path}: an old-style pipeline (one section per stage); pipelines are now named steps. "
                        f"`mathmind run {path} --upgrade > NEW.yaml` writes it in the new form (see README, `mathmind run`)")
    return check_pipeline(pipeline, str(path), _duplicate_step(path))


def _duplicate_step(path: Path) -> str | None:
    """YAML keeps the last of two equal keys silently; two steps of one name are an error here."""
    node = yaml.compose(path.read_text(encoding="utf-8"))
    for key, value in getattr(node, "value", []):
        if key.value == "steps" and isinstance(value, yaml.MappingNode):
            names = [k.value for k, _ in value.value]
            return next((n for i, n in enumerate(names) if n in names[:i]), None)
    return None


def check_pipeline(pipeline: dict[str, Any], where: str = "pipeline", duplicate: str | None = None) -> dict[str, Any]:
    if not pipeline.get("run_dir"):
        raise UserError(f"{where}: a pipeline needs `run_dir` and `steps`")
    unknown = [k for k in pipeline if k not in ("run_dir", "steps", "description")]
    if unknown:
        raise UserError(f"{where}: unknown key {unknown[0]!r} (a pipeline has run_dir, steps, description)")
    if not isinstance(pipeline.get("steps"), dict) or not pipeline["steps"]:
        raise UserError(f"{where}: `steps` must map step names to steps (run, inputs, settings)")
    if duplicate:
        raise UserError(f"{where}: step {duplicate!r} is defined twice")
    return pipeline


def upgrade(old: dict[str, Any]) -> dict[str, Any]:
    """An old-style pipeline (one section per stage, files wired by hand) as named steps."""
    steps: dict[str, Any] = {}
    last_records = None
    for stage in ("distill", "judge", "convert"):
        if stage in old:
            steps[stage] = {"run": stage, **({"inputs": {"in": last_records}} if last_records else {}),
                            "settings": dict(old[stage] or {})}
            last_records = stage
    if "train" in old:
        steps["train"] = {"run": "train", **({"inputs": {"dataset": "convert"}} if "convert" in old else {}),
                          "settings": dict(old["train"] or {})}
    evals = []
    if "eval" in old:
        settings = dict(old["eval"] or {})
        for model_name, model in (settings.pop("models", None) or {}).items():
            step = f"eval_{model_name}"
            steps[step] = ({"run": "eval", "inputs": {"model": "train"}, "settings": {**settings, "name": model_name}}
                           if model == "train" else {"run": "eval", "settings": {"model": model, **settings, "name": model_name}})
            evals.append(step)
    if "report" in old:
        steps["report"] = {"run": "report", "inputs": {"runs": evals}, "settings": dict(old["report"] or {})}
    return {**({"description": old["description"]} if "description" in old else {}), "run_dir": old["run_dir"], "steps": steps}


def _selection(steps: list[Step], start: str | None, only: str | None) -> tuple[set[str], set[str]]:
    """The steps this invocation runs, and the unselected ones whose existing outputs it trusts."""
    names = [s.name for s in steps]
    for flag, name in (("--from", start), ("--only", only)):
        if name and name not in names:
            raise UserError(f"{flag} {name}: the pipeline has no such step (steps: {', '.join(names)})")
    selected = {only} if only else set(names[names.index(start):]) if start else set(names)
    by_name = {s.name: s for s in steps}
    trusted: set[str] = set()
    for step in steps:
        if step.name in selected:
            trusted |= {u for u in step.upstream if u not in selected}
    return selected, {t for t in trusted if t in by_name}


def run_pipeline(pipeline: dict[str, Any], start: str | None = None, only: str | None = None, force: bool = False,
                 show_plan: bool = False, main: Callable[[list[str]], int] | None = None) -> int:
    if main is None:
        from mathmind.cli import main
    check_pipeline(pipeline)
    run_dir = Path(pipeline["run_dir"])
    state_path = run_dir / "pipeline_state.json"
    state: dict[str, Any] = json.loads(state_path.read_text(encoding="utf-8")) if state_path.exists() else {}
    # Records of old-style runs (no `parts`) describe other files: their steps count as new, and are not wiped.
    state = {name: record for name, record in state.items() if isinstance(record, dict) and "parts" in record}
    steps = plan(pipeline, run_dir)
    by_name = {s.name: s for s in steps}
    selected, trusted = _selection(steps, start, only)
    for name in sorted(trusted, key=[s.name for s in steps].index):
        record = state.get(name, {})
        if record.get("status") != "done" and not by_name[name].out.exists():   # type: ignore[union-attr]
            raise UserError(f"step {name!r}: {'--from ' + start if start else '--only ' + str(only)} reads its output "
                            f"{by_name[name].out}, which does not exist; run without --from/--only first")
    if show_plan:
        print_plan(steps, state, selected, trusted, force, run_dir)
        return 0
    run_dir.mkdir(parents=True, exist_ok=True)
    for step in steps:
        parts = fill_inputs(fingerprint_parts(step), by_name)
        record = state.get(step.name, {})
        decision = decide(step, parts, record, step.name in selected, step.name in trusted, force, [])
        if decision.action in ("skip", "trusted", "unselected"):
            print(f"run: {step.name}: {decision.why}", file=sys.stderr)
            continue
        if decision.action == "rerun":
            remove_outputs(step)
        print(f"run: {step.name}: {decision.why}: mathmind {' '.join(step.argv)}", file=sys.stderr, flush=True)
        step.dir.mkdir(parents=True, exist_ok=True)
        state[step.name] = {"fingerprint": digest(parts), "status": "running", "parts": parts}
        write_json_atomic(state_path, state)
        code = main(step.argv)
        if code != 0:
            why = "was interrupted; re-run to resume it" if code == 130 else f"failed (exit {code}); fix it and re-run"
            print(f"run: {step.name} {why}: finished steps are kept", file=sys.stderr)
            return code
        state[step.name]["status"] = "done"
        write_json_atomic(state_path, state)
    print(f"run: done; everything is in {run_dir}", file=sys.stderr)
    return 0


def print_plan(steps: list[Step], state: dict[str, Any], selected: set[str], trusted: set[str], force: bool,
               run_dir: Path) -> None:
    by_name = {s.name: s for s in steps}
    running: set[str] = set()
    print(f"plan for {run_dir} ({len(steps)} steps; state in {run_dir / 'pipeline_state.json'}); nothing is run")
    for i, step in enumerate(steps, 1):
        parts = fingerprint_parts(step)
        pending = [u for u in step.upstream if u in running]
        if not pending:
            parts = fill_inputs(parts, by_name)
        decision = decide(step, parts, state.get(step.name, {}), step.name in selected, step.name in trusted, force, pending)
        if decision.action in ("run", "rerun", "resume", "pending"):
            running.add(step.name)
        inputs = ", ".join(f"{o} <- {' '.join(n)}" for o, n in step.inputs.items()) or "-"
        print(f"\n{i}. {step.name} ({step.command}): {decision.action.upper()}: {decision.why}")
        print(f"   inputs: {inputs}")
        print(f"   output: {step.out}")
        print(f"   $ mathmind {' '.join(_quote(a) for a in step.argv)}")


def _quote(word: str) -> str:
    import shlex

    return shlex.quote(word)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pipeline", type=Path, help="pipeline YAML (see recipes/pipelines/)")
    parser.add_argument("--plan", action="store_true", help="print each step, its command, inputs and whether it would be "
                                                              "skipped, resumed or re-run; run nothing")
    parser.add_argument("--from", dest="start", metavar="STEP", default=None,
                        help="run this step and every later one; earlier outputs are trusted for this invocation only")
    parser.add_argument("--only", metavar="STEP", default=None, help="run only this step (its inputs' outputs must exist)")
    parser.add_argument("--force", action="store_true", help="re-run the selected steps from scratch even if unchanged")
    parser.add_argument("--upgrade", action="store_true", help="print an old-style pipeline (one section per stage) as named "
                                                                 "steps, and exit")


def run(args: argparse.Namespace) -> int:
    from mathmind.launch.recipe import shipped

    path = shipped(args.pipeline)
    if args.upgrade:
        old = read_yaml_mapping(path, "pipeline")
        if not _old_style(old):
            raise UserError(f"{path}: already a pipeline of named steps (nothing to upgrade)")
        print(yaml.safe_dump(upgrade(old), allow_unicode=True, sort_keys=False), end="")
        return 0
    return run_pipeline(load_pipeline(path), args.start, args.only, args.force, show_plan=args.plan)
