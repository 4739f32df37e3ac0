"""Train from a recipe: openmind-cli on Ascend when it is installed, else torchrun with mathmind's TRL trainer;
llamafactory-cli when asked (--launcher llamafactory), or on Ascend for stages openMind lacks when it is installed.

The recipe is checked first (unknown keys, dataset registration, model, DeepSpeed file, numbers), then
rendered for the launcher into OUTPUT_DIR.mathmind/, then launched with the device variables from
mathmind.hardware (ASCEND_RT_VISIBLE_DEVICES and HCCL settings on Ascend, CUDA_VISIBLE_DEVICES on CUDA).
--dry-run prints the exact command and environment instead; --hardware npu:8 renders for a machine
you are not on. Re-running resumes from the last checkpoint in output_dir.

Multi-node: --nnodes/--node-rank/--master-addr/--master-port (or NNODES, NODE_RANK or RANK,
MASTER_ADDR, MASTER_PORT); --emit slurm --nodes N prints an sbatch script that runs one
`mathmind train` per node.

  mathmind train recipes/qwen2.5-7b-instruct/full_distill.yaml
  mathmind train recipes/tiny/full_sft.yaml --hardware cpu:2 model_name_or_path=models/tiny max_steps=20
  mathmind train recipes/qwen2.5-7b-instruct/full_distill.yaml --hardware npu:8 --nnodes 2 --node-rank 0 \\
      --master-addr 10.0.0.1 --dry-run
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from mathmind.errors import UserError
from mathmind.jsonl import write_text_atomic

DEFAULT_MASTER_PORT = 29500
# stage -> the module torchrun runs (mathmind's TRL trainers)
TORCHRUN_TRAINERS = {"sft": "mathmind.launch.sft", "dpo": "mathmind.launch.preference", "kto": "mathmind.launch.preference"}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("recipe", type=Path, help="recipe YAML (see recipes/)")
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="override recipe keys (YAML values)")
    parser.add_argument("--launcher", choices=("auto", "openmind", "llamafactory", "torchrun"), default="auto",
                        help="auto (default): openmind-cli on Ascend when installed (llamafactory-cli for dpo/kto), "
                             "else torchrun; llamafactory: LLaMA-Factory's llamafactory-cli train")
    parser.add_argument("--dry-run", action="store_true", help="print the command and environment; launch nothing")
    parser.add_argument("--hardware", metavar="KIND:COUNT", help="render for npu:8, cuda:8, cpu:2 ... instead of detecting")
    multi = parser.add_argument_group("multi-node (default from NNODES, NODE_RANK/RANK, MASTER_ADDR, MASTER_PORT)")
    multi.add_argument("--nnodes", type=int, default=None)
    multi.add_argument("--node-rank", type=int, default=None)
    multi.add_argument("--master-addr", default=None)
    multi.add_argument("--master-port", type=int, default=None)
    multi.add_argument("--socket-ifname", default=None, help="network interface for collectives (HCCL_SOCKET_IFNAME / NCCL_SOCKET_IFNAME)")
    multi.add_argument("--if-ip", default=None, help="this host's IP for HCCL (HCCL_IF_IP)")
    slurm = parser.add_argument_group("cluster batch jobs")
    slurm.add_argument("--emit", choices=("slurm",), default=None, help="print a batch script instead of launching")
    slurm.add_argument("--nodes", type=int, default=1, help="nodes for --emit slurm (default 1)")
    slurm.add_argument("--partition", default=None)
    slurm.add_argument("--time", default="24:00:00", help="time limit for --emit slurm (default 24:00:00)")


@dataclass
class Launch:
    launcher: str
    command: list[str]
    env: dict[str, str]                 # what mathmind sets; the rest of the environment is inherited
    rendered: Path
    output_dir: Path
    notes: list[str] = field(default_factory=list)


@dataclass
class Nodes:
    nnodes: int
    node_rank: int
    master_addr: str
    master_port: int


def nodes_from(args: argparse.Namespace, environ: dict[str, str]) -> Nodes:
    def pick(flag: int | str | None, *names: str, default: str) -> str:
        if flag is not None:
            return str(flag)
        return next((environ[n] for n in names if environ.get(n)), default)

    try:
        nodes = Nodes(int(pick(args.nnodes, "NNODES", default="1")), int(pick(args.node_rank, "NODE_RANK", "RANK", default="0")),
                      pick(args.master_addr, "MASTER_ADDR", default="127.0.0.1"),
                      int(pick(args.master_port, "MASTER_PORT", default=str(DEFAULT_MASTER_PORT))))
    except ValueError as e:
        raise UserError(f"multi-node settings: {e}") from None
    if nodes.nnodes < 1 or not 0 <= nodes.node_rank < nodes.nnodes:
        raise UserError(f"--node-rank {nodes.node_rank} must be in [0, --nnodes {nodes.nnodes})")
    if nodes.nnodes > 1 and nodes.master_addr in ("127.0.0.1", "localhost"):
        raise UserError("--nnodes > 1 needs --master-addr (or MASTER_ADDR): the first node's address, reachable from all")
    return nodes


def torchrun_executable() -> str:
    beside = Path(sys.executable).parent / "torchrun"
    return str(beside) if beside.exists() else "torchrun"


def last_checkpoint(output_dir: Path) -> Path | None:
    checkpoints = [p for p in output_dir.glob("checkpoint-*") if p.name.split("-")[-1].isdigit()]
    return max(checkpoints, key=lambda p: int(p.name.split("-")[-1])) if checkpoints else None


def tool_datasets_of(recipe: "Recipe") -> list[str]:
    """The recipe's tool-call datasets, when its dataset_info can be read (validate() reports it when it cannot)."""
    from mathmind.launch.openmind import tool_datasets
    from mathmind.launch.recipe import registered_datasets

    try:
        return tool_datasets(recipe.values, registered_datasets(recipe))
    except (UserError, OSError):
        return []


def prepare(args: argparse.Namespace, environ: dict[str, str]) -> Launch:
    from mathmind.hardware import detect, launch_env, simulate
    from mathmind.launch.openmind import TRANSLATED_KEYS, probe_openmind, render_for_openmind
    from mathmind.launch.recipe import Recipe, absolute_paths, load_recipe, trainer_keys, validate
    from mathmind.launch.select import LAUNCHER_EXECUTABLES, pick_launcher

    recipe = load_recipe(args.recipe, args.overrides)
    hw = simulate(args.hardware) if args.hardware else detect()
    notes = list(hw.warnings)
    if args.launcher == "auto":
        launcher, why = pick_launcher(hw, str(recipe.values.get("stage") or "sft"), tool_calls=bool(tool_datasets_of(recipe)))
        notes += why
    else:
        launcher = args.launcher
    stage = str(recipe.values.get("stage") or "sft")
    if stage != "sft" and launcher == "openmind" and args.launcher == "auto":
        launcher = "torchrun"
    if stage != "sft" and launcher == "openmind":
        raise UserError(f"--launcher openmind: openMind 1.0 trains stage sft only; stage {stage} runs through torchrun "
                        f"(--launcher torchrun or auto)")
    if stage != "sft" and launcher == "torchrun" and "openmind" in hw.spec.launchers:
        with_modules = "".join(f" with {m}" for m in hw.spec.runtime_modules)
        notes.append(f"openMind 1.0 trains stage sft only: stage {stage} runs through torchrun{with_modules} "
                     f"(mathmind's TRL {stage.upper()} trainer)")
    nodes = nodes_from(args, environ)
    om = None
    if launcher == "openmind":
        cli = shutil.which(LAUNCHER_EXECUTABLES["openmind"], path=environ.get("PATH"))
        if cli:
            om = probe_openmind(cli)
        elif not args.dry_run:
            raise UserError("--launcher openmind: openmind-cli is not on PATH (install openMind, or use --launcher torchrun)")
        else:
            notes.append("openmind-cli not found: the recipe is shown as written, not adapted to an installed openMind")
    lf, cli = None, None
    if launcher == "llamafactory":
        from mathmind.launch.llamafactory import probe_llamafactory

        cli = shutil.which(LAUNCHER_EXECUTABLES["llamafactory"], path=environ.get("PATH"))
        if cli:
            lf = probe_llamafactory(cli)
        elif not args.dry_run:
            raise UserError("--launcher llamafactory: llamafactory-cli is not on PATH (install LLaMA-Factory: see README, "
                            "or use --launcher torchrun)")
        else:
            notes.append("llamafactory-cli not found: key names are mapped but not checked against an installed LLaMA-Factory")
    if lf:
        from mathmind.launch.llamafactory import TRANSLATED_KEYS as LF_TRANSLATED

        valid, what = lf.fields | LF_TRANSLATED, f"LLaMA-Factory {lf.version}"
    elif om:
        valid, what = om.fields | TRANSLATED_KEYS, f"openMind {om.version}"
    else:
        valid, what = (trainer_keys() if launcher == "torchrun" else None), "mathmind's trainer (TRL SFTConfig + openMind keys)"
    notes += validate(recipe, valid, what, om.datasets if om else frozenset())
    from mathmind.pull import resolve_model

    values = dict(recipe.values)
    values["model_name_or_path"] = resolve_model(str(values["model_name_or_path"]), dry_run=args.dry_run, notes=notes)
    if values.get("ref_model"):
        values["ref_model"] = resolve_model(str(values["ref_model"]), dry_run=args.dry_run, notes=notes)
    values = absolute_paths(values)
    output_dir = Path(values["output_dir"])
    if launcher == "openmind":
        from mathmind.launch.openmind import refuse_tool_datasets
        from mathmind.launch.recipe import registered_datasets

        refuse_tool_datasets(values, registered_datasets(Recipe(recipe.path, values)) if values.get("custom_dataset_info") else {})
    if om:
        values = {**{k: v for k, v in hw.spec.trainer_args.items() if k in om.fields}, **values}
        values, changes = render_for_openmind(values, om)
        notes += changes
        checkpoint = last_checkpoint(output_dir)
        if checkpoint and not values.get("resume_from_checkpoint") and not values.get("overwrite_output_dir"):
            values["resume_from_checkpoint"] = str(checkpoint)
            notes.append(f"resuming from {checkpoint}")
    # Beside output_dir, not in it: openMind refuses a non-empty output_dir without a checkpoint.
    rendered = output_dir.with_name(output_dir.name + ".mathmind") / f"recipe.{launcher}.yaml"
    if launcher == "llamafactory":
        from mathmind.launch.llamafactory import dataset_dir_for, render_for_llamafactory
        from mathmind.launch.recipe import registered_datasets

        values["dataset_dir"] = str(dataset_dir_for(values, registered_datasets(Recipe(recipe.path, values)), rendered.parent / "data"))
        if lf:
            values = {**{k: v for k, v in hw.spec.trainer_args.items() if k in lf.fields}, **values}
        values, changes = render_for_llamafactory(values, lf)
        notes += changes
    write_text_atomic(rendered, f"# rendered by mathmind from {recipe.path}\n" + yaml.safe_dump(values, sort_keys=False, allow_unicode=True))

    env = launch_env(hw, environ, socket_ifname=args.socket_ifname, if_ip=args.if_ip)
    env["MATHMIND_DEVICE_KIND"] = hw.kind
    if launcher == "openmind":
        env["NPROC_PER_NODE"] = str(hw.count)
        if nodes.nnodes > 1:   # openMind reads RANK (not NODE_RANK) for the node's rank
            env.update(NNODES=str(nodes.nnodes), RANK=str(nodes.node_rank), MASTER_ADDR=nodes.master_addr,
                       MASTER_PORT=str(nodes.master_port))
        command = [LAUNCHER_EXECUTABLES["openmind"], "train", str(rendered)]
    elif launcher == "llamafactory":
        from mathmind.launch.llamafactory import launch_env_for

        env.update(launch_env_for(hw.count, nodes, cli, environ))
        command = [LAUNCHER_EXECUTABLES["llamafactory"], "train", str(rendered)]
    else:
        where = ["--standalone"] if nodes.nnodes == 1 else [
            "--nnodes", str(nodes.nnodes), "--node_rank", str(nodes.node_rank),
            "--master_addr", nodes.master_addr, "--master_port", str(nodes.master_port)]
        command = [torchrun_executable(), "--nproc_per_node", str(hw.count), *where, "-m", TORCHRUN_TRAINERS[stage], str(rendered)]
    return Launch(launcher, command, env, rendered, output_dir, notes)


def slurm_script(args: argparse.Namespace) -> str:
    from mathmind.hardware import detect, simulate

    hw = simulate(args.hardware) if args.hardware else detect()
    gres = f"#SBATCH --gres={hw.spec.slurm_gres}:{hw.count}" if hw.spec.slurm_gres else ""
    train = ["mathmind", "train", str(args.recipe.resolve()), *args.overrides, "--hardware", f"{hw.kind}:{hw.count}"]
    if args.launcher != "auto":
        train += ["--launcher", args.launcher]
    lines = [
        "#!/bin/bash",
        f"#SBATCH --job-name=mathmind-{args.recipe.stem}",
        f"#SBATCH --nodes={args.nodes}",
        "#SBATCH --ntasks-per-node=1          # one `mathmind train` per node; it starts the per-device processes",
        f"#SBATCH --cpus-per-task={max(8, hw.count * 8)}",
        f"#SBATCH --time={args.time}",
        "#SBATCH --output=%x-%j.out",
        *([gres] if gres else []),
        *([f"#SBATCH --partition={args.partition}"] if args.partition else []),
        "set -euo pipefail",
        "# The first host of the allocation is the rendezvous master; every node computes the same one.",
        'export MASTER_ADDR=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)',
        f"export MASTER_PORT=${{MASTER_PORT:-{DEFAULT_MASTER_PORT}}}",
        "export NNODES=$SLURM_NNODES",
        "# Each node's rank is its SLURM_NODEID, read inside the task (single quotes: expanded per node).",
        "srun --kill-on-bad-exit=1 bash -c '" + " ".join(shlex.quote(a) for a in train)
        + " --nnodes $SLURM_NNODES --node-rank $SLURM_NODEID --master-addr $MASTER_ADDR --master-port $MASTER_PORT'",
    ]
    return "\n".join(lines) + "\n"


def show(launch: Launch) -> None:
    print(f"launcher: {launch.launcher}")
    print(f"recipe as launched: {launch.rendered}")
    for note in launch.notes:
        print(f"note: {note}")
    print("environment (set by mathmind; everything else is inherited):")
    for name, value in sorted(launch.env.items()):
        print(f"  {name}={value}")
    print("command:")
    print("  " + " ".join(shlex.quote(part) for part in launch.command))


def run(args: argparse.Namespace) -> int:
    if args.emit == "slurm":
        if args.nodes < 1:
            raise UserError(f"--nodes must be >= 1, got {args.nodes}")
        print(slurm_script(args), end="")
        return 0
    launch = prepare(args, dict(os.environ))
    show(launch)
    sys.stdout.flush()
    if args.dry_run:
        return 0
    from mathmind.launch.openmind import training_failed

    tail: deque[str] = deque(maxlen=2000)
    log_path = launch.rendered.parent / "train.log"
    with subprocess.Popen(launch.command, env={**os.environ, **launch.env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, errors="replace") as proc, log_path.open("a", encoding="utf-8") as log:
        try:
            for line in proc.stdout:
                sys.stdout.write(line)
                log.write(line)
                tail.append(line)
        except KeyboardInterrupt:
            proc.terminate()
            proc.wait(30)
            raise
    code = proc.returncode
    if code != 0:
        print(f"mathmind train: {launch.launcher} exited with {code}; output in {log_path}", file=sys.stderr)
        if launch.launcher == "llamafactory":
            from mathmind.launch.llamafactory import failure_lines

            print(failure_lines("".join(tail)), file=sys.stderr)
        return 1
    if launch.launcher == "openmind":
        why = training_failed("".join(tail), launch.output_dir)
        if why:   # openmind-cli 1.0.0 exits 0 even when training fails
            print(f"mathmind train: training failed although openmind-cli exited 0. {why}", file=sys.stderr)
            return 1
    if launch.launcher == "llamafactory":
        from mathmind.launch.llamafactory import skipped_samples, training_failed as llamafactory_failed

        why = llamafactory_failed("".join(tail), launch.output_dir)
        if why:
            print(f"mathmind train: llamafactory-cli exited 0 but did not train. {why}", file=sys.stderr)
            return 1
        skipped = skipped_samples("".join(tail))
        if skipped:
            print(f"mathmind train: warning: LLaMA-Factory skipped {skipped} sample(s) it could not read "
                  f"('Invalid role tag' / 'Invalid message count' in {log_path})", file=sys.stderr)
    print(f"mathmind train: done; output in {launch.output_dir}")
    return 0
