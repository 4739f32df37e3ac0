"""openmind-cli: what the installed openMind accepts, the recipe rendered for it, and whether it really trained.

openMind usually lives in its own environment (Python < 3.11, transformers <= 4.45.2), so its
argument dataclasses are read by the Python that runs `openmind-cli` (from its shebang line), in a
subprocess. openmind-cli 1.0.0 exits 0 even when training fails, so success is judged from what it
printed and what it left in output_dir.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mathmind.errors import UserError

FIELDS_PROBE = """
import dataclasses, json, os
import openmind
from openmind.flow.arguments.parser import _ALL_ARGS
builtin = os.path.join(os.path.dirname(openmind.__file__), "flow", "configs", "dataset_info.json")
print(json.dumps({"version": openmind.__version__,
                  "fields": sorted({f.name for c in _ALL_ARGS for f in dataclasses.fields(c)}),
                  "datasets": sorted(json.load(open(builtin))) if os.path.exists(builtin) else []}))
"""


# Keys mathmind translates for an openMind that lacks them (see render_for_openmind).
TRANSLATED_KEYS = {"template"}


@dataclass
class OpenMind:
    version: str
    fields: set[str]
    python: str
    datasets: set[str]      # openMind's built-in dataset names


def openmind_python(cli: str) -> str:
    """The interpreter of an `openmind-cli` script (its shebang), which can import openMind."""
    first = Path(cli).read_text(encoding="utf-8", errors="replace").splitlines()[0]
    if not first.startswith("#!"):
        raise UserError(f"{cli}: not a script with a #! line; cannot tell which Python runs openMind")
    return first[2:].strip().split()[0]


def probe_openmind(cli: str) -> OpenMind:
    python = openmind_python(cli)
    proc = subprocess.run([python, "-c", FIELDS_PROBE], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "TORCH_DEVICE_BACKEND_AUTOLOAD": "0"})
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
        raise UserError(f"openMind does not import in {python}:\n{tail}")
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    return OpenMind(data["version"], set(data["fields"]), python, set(data.get("datasets", [])))


def render_for_openmind(values: dict[str, Any], om: OpenMind) -> tuple[dict[str, Any], list[str]]:
    """The recipe as the installed openMind takes it, and what was changed to get there."""
    out, changes = dict(values), []
    if "template" in out and "template" not in om.fields:
        changes.append(f"removed `template: {out.pop('template')}` (openMind {om.version} has no `template` key; "
                       f"it picks the chat template from model_group)")
    model = Path(str(out.get("model_name_or_path", "")))
    if "model_group" in om.fields and not out.get("model_group") and (model / "config.json").is_file():
        model_type = json.loads((model / "config.json").read_text(encoding="utf-8")).get("model_type", "")
        out["model_group"] = model_type
        changes.append(f"added `model_group: {model_type}` (openMind {om.version} needs it for a local model path; "
                       f"from config.json's model_type)")
    for key in [k for k in out if k not in om.fields]:
        changes.append(f"removed `{key}: {out.pop(key)}` (not an openMind {om.version} argument)")
    return out, changes


def tool_datasets(values: dict[str, Any], entries: dict[str, dict[str, Any]]) -> list[str]:
    """The recipe's datasets with tool-call turns: entries with a `tools` column, as `mathmind convert --format pot`
    registers them."""
    names = [n.strip() for n in str(values.get("dataset", "")).split(",")]
    return [n for n in names if (entries.get(n) or {}).get("columns", {}).get("tools")]


def refuse_tool_datasets(values: dict[str, Any], entries: dict[str, dict[str, Any]]) -> None:
    """openMind 1.0 encodes user and assistant turns only (NotImplementedError on function/observation turns):
    refuse tool-call datasets up front."""
    tools = tool_datasets(values, entries)
    if tools:
        raise UserError(f"dataset {', '.join(tools)}: tool-call turns (function_call / observation), which openMind 1.0 "
                        f"cannot train (user/assistant turns only); use --launcher llamafactory or --launcher torchrun")


TRACEBACK = re.compile(r"^Traceback \(most recent call last\):", re.M)


def training_failed(output: str, output_dir: Path) -> str | None:
    """Why an openmind-cli run failed despite its exit code 0, or None when it trained."""
    match = TRACEBACK.search(output)
    if match:
        lines = output[match.start():].strip().splitlines()
        return "openmind-cli printed a traceback:\n" + "\n".join(lines[-15:])
    if not (output_dir / "trainer_state.json").is_file() and not any(output_dir.glob("checkpoint-*/trainer_state.json")):
        tail = "\n".join(output.strip().splitlines()[-15:])
        return f"openmind-cli left no trainer_state.json in {output_dir}; its last lines:\n{tail}"
    return None
