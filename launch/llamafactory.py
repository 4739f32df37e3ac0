"""llamafactory-cli: what the installed LLaMA-Factory accepts, the recipe rendered for it, and whether it trained.

LLaMA-Factory usually lives in its own environment (its transformers/datasets/trl pins differ from
mathmind's), so its argument dataclasses are read by the Python that runs `llamafactory-cli` (from its
shebang line), in a subprocess, as for openMind. The recipe's keys are openMind's (LLaMA-Factory's own
names, mostly) plus TrainingArguments as is; the few that differ are mapped by RENAMED below.
`custom_dataset_info` becomes a `dataset_dir` holding a dataset_info.json with the recipe's entries,
their files as absolute paths, written beside the rendered recipe.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from mathmind.errors import UserError
from mathmind.jsonl import write_json_atomic

if TYPE_CHECKING:
    from mathmind.launch.train import Nodes

FIELDS_PROBE = """
import dataclasses, json
from llamafactory.extras.env import VERSION
from llamafactory.hparams.parser import _TRAIN_ARGS
print(json.dumps({"version": VERSION, "fields": sorted({f.name for c in _TRAIN_ARGS for f in dataclasses.fields(c)})}))
"""

# recipe key (openMind's name) -> (LLaMA-Factory key, how the value changes); the only keys that differ.
RENAMED: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "lora_target_modules": ("lora_target", lambda v: v),
    "use_gradient_checkpointing": ("disable_gradient_checkpointing", lambda v: not v),   # LLaMA-Factory's is on by default
}
# TrainingArguments keys of transformers 4 that transformers 5 renamed: mapped only when the installed one lacks them.
RENAMED_IN_TRANSFORMERS_5: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "warmup_ratio": ("warmup_steps", float),      # a float warmup_steps is a ratio
    "group_by_length": ("train_sampling_strategy", lambda v: "group_by_length" if v else "random"),
}
# openMind-only keys with no LLaMA-Factory counterpart: removed, with a note.
OPENMIND_ONLY = {"model_group", "custom_dataset_info"}
TRANSLATED_KEYS = set(RENAMED) | set(RENAMED_IN_TRANSFORMERS_5) | OPENMIND_ONLY


@dataclass
class LlamaFactory:
    version: str
    fields: set[str]
    python: str


def cli_python(cli: str) -> str:
    """The interpreter of a console script (its #! line), which can import the package behind it."""
    first = Path(cli).read_text(encoding="utf-8", errors="replace").splitlines()[0]
    if not first.startswith("#!"):
        raise UserError(f"{cli}: not a script with a #! line; cannot tell which Python runs LLaMA-Factory")
    return first[2:].strip().split()[0]


def probe_llamafactory(cli: str) -> LlamaFactory:
    python = cli_python(cli)
    proc = subprocess.run([python, "-c", FIELDS_PROBE], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "TORCH_DEVICE_BACKEND_AUTOLOAD": "0"})
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
        raise UserError(f"LLaMA-Factory does not import in {python} (see README: its environment):\n{tail}")
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    return LlamaFactory(data["version"], set(data["fields"]), python)


def dataset_dir_for(values: dict[str, Any], entries: dict[str, dict[str, Any]], folder: Path) -> Path:
    """A dataset_info.json in `folder` with the recipe's datasets, file names absolute (LLaMA-Factory joins
    them to dataset_dir, and an absolute one stays as it is), openMind's `local_path` left out."""
    from mathmind.launch.recipe import dataset_file

    info = {}
    for name in (n.strip() for n in str(values["dataset"]).split(",")):
        entry = {k: v for k, v in entries[name].items() if k not in ("local_path", "_info")}
        entry["file_name"] = str(dataset_file(entries[name]).resolve())
        info[name] = entry
    write_json_atomic(folder / "dataset_info.json", info)
    return folder


def render_for_llamafactory(values: dict[str, Any], lf: LlamaFactory | None) -> tuple[dict[str, Any], list[str]]:
    """The recipe with LLaMA-Factory's key names, and what was changed to get there.

    `lf` None (not installed, dry run): renamed only; otherwise keys the installed version lacks are removed.
    """
    out, changes = {}, []
    for key, value in values.items():
        if key in RENAMED:
            new_key, convert = RENAMED[key]
            out[new_key] = convert(value)
            changes.append(f"`{key}: {value}` -> `{new_key}: {out[new_key]}` (LLaMA-Factory's name)")
        elif key in OPENMIND_ONLY:
            if key != "custom_dataset_info":   # that one became dataset_dir
                changes.append(f"removed `{key}: {value}` (openMind only)")
        elif key.endswith("_strategy") and value is False:
            out[key] = "no"          # YAML 1.1 reads `save_strategy: no` as false
        else:
            out[key] = value
    if lf:
        for key, (new_key, convert) in RENAMED_IN_TRANSFORMERS_5.items():
            if key in out and key not in lf.fields:
                out.setdefault(new_key, convert(out.pop(key)))
                changes.append(f"`{key}` -> `{new_key}: {out[new_key]}` (transformers 5's name)")
        for key in [k for k in out if k not in lf.fields]:
            changes.append(f"removed `{key}: {out.pop(key)}` (not a LLaMA-Factory {lf.version} argument)")
    return out, changes


def launch_env_for(nproc: int, nodes: "Nodes", cli: str | None, environ: Mapping[str, str]) -> dict[str, str]:
    """llamafactory-cli's own launch variables (the device ones come from mathmind.hardware).

    FORCE_TORCHRUN=1 makes it start `torchrun` even for one device, so every run takes the same path; it
    finds `torchrun` on PATH, so the directory of this llamafactory-cli goes first. NODE_RANK (not RANK).
    """
    env = {"FORCE_TORCHRUN": "1", "NPROC_PER_NODE": str(nproc)}
    if nodes.nnodes > 1:
        env.update(NNODES=str(nodes.nnodes), NODE_RANK=str(nodes.node_rank), MASTER_ADDR=nodes.master_addr,
                   MASTER_PORT=str(nodes.master_port))
    path = environ.get("PATH", "")
    if cli and not path.startswith(f"{Path(cli).parent}{os.pathsep}"):
        env["PATH"] = f"{Path(cli).parent}{os.pathsep}{path}"
    return env


# The line that names an exception, as a rank prints it ("[rank0]: RuntimeError: ...") or as the launcher does.
ERROR_LINE = re.compile(r"^(?:\[rank\d+\]:\s*)?(?:[\w.]+\.)?[A-Z]\w*(?:Error|Exception):.*$", re.M)


def skipped_samples(output: str) -> int:
    """Samples LLaMA-Factory dropped as unreadable (it warns once per sample and trains on without them)."""
    return output.count("Skipping this abnormal example")


def failure_lines(output: str) -> str:
    """Why a run failed: the first exception raised (the rank that failed first, not the launchers that relay it)
    with the lines before it, and how many samples LLaMA-Factory skipped as unreadable."""
    match = ERROR_LINE.search(output)
    lines = output[:match.end()].splitlines()[-6:] if match else output.strip().splitlines()[-15:]
    skipped = skipped_samples(output)
    if skipped:
        lines.append(f"(LLaMA-Factory skipped {skipped} sample(s) it could not read: see 'Invalid role tag' / "
                     f"'Invalid message count' in the log)")
    return "\n".join(lines)


def training_failed(output: str, output_dir: Path) -> str | None:
    """Why a run that exited 0 did not train, or None: LLaMA-Factory saves trainer_state.json and the weights."""
    if not (output_dir / "trainer_state.json").is_file():
        return f"llamafactory-cli left no trainer_state.json in {output_dir}; its last lines:\n{failure_lines(output)}"
    if not any(output_dir.glob("*.safetensors")) and not any(output_dir.glob("*.bin")):
        return f"llamafactory-cli saved no weights in {output_dir}"
    return None
