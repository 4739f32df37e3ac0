"""Show what mathmind sees on this machine and what to fix before training.

Prints the accelerators (kind, count, names, memory, bf16), the distributed backend, the
visible-devices variable, the device string lm-eval needs, versions of the libraries each stage
uses, the launcher `mathmind train` would pick, and warnings that say what to do.

  mathmind doctor                 # human-readable
  mathmind doctor --json          # one JSON object (hardware, packages, launcher, warnings)
  mathmind doctor --hardware npu:8   # what a run on 8 NPUs would use (nothing is probed)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from importlib import metadata

from mathmind.hardware.detect import detect, simulate
from mathmind.hardware.env import launch_env

# import name shown -> distribution name on PyPI
PACKAGES: dict[str, str] = {
    "torch": "torch", "torch_npu": "torch-npu", "transformers": "transformers", "trl": "trl", "peft": "peft",
    "accelerate": "accelerate", "deepspeed": "deepspeed", "openmind": "openmind", "lm_eval": "lm-eval",
    "modelscope": "modelscope", "openai": "openai", "math_verify": "math-verify",
}


def package_versions() -> dict[str, str | None]:
    """Installed versions from package metadata: nothing is imported, so a broken install cannot crash the doctor."""
    versions: dict[str, str | None] = {}
    for name, dist in PACKAGES.items():
        try:
            versions[name] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.add_argument("--hardware", metavar="KIND:COUNT",
                        help="simulate hardware instead of probing (npu:8, cuda:8, cpu:2)")


def report(hardware_spec: str | None = None) -> dict:
    from mathmind.launch.select import pick_launcher

    hw = simulate(hardware_spec) if hardware_spec else detect()
    packages = package_versions()
    launcher, launcher_notes = pick_launcher(hw)
    warnings = list(hw.warnings)
    if "openmind" in hw.spec.launchers and launcher != "openmind":
        warnings.append("openmind-cli not found: `mathmind train` falls back to torchrun with its own TRL trainer; "
                        "for the openMind path install openMind 1.0 in its own environment (Python 3.10) and put "
                        "openmind-cli on PATH")
    for extra, names in {"train": ("transformers", "trl", "peft", "accelerate"), "eval": ("lm_eval",)}.items():
        missing = [n for n in names if packages[n] is None]
        if missing:
            warnings.append(f"{', '.join(missing)} not installed: `pip install 'mathmind[{extra}]'` for `mathmind {extra}`")
    return {
        "hardware": hw.to_dict(),
        "launch_env": launch_env(hw, os.environ),
        "packages": packages,
        "openmind_cli": shutil.which("openmind-cli"),
        "launcher": launcher,
        "launcher_notes": launcher_notes,
        "warnings": warnings,
    }


def run(args: argparse.Namespace) -> int:
    result = report(args.hardware)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    hw = result["hardware"]
    lines = [
        f"hardware     {hw['kind']} x{hw['count']}" + (" (simulated)" if hw["simulated"] else ""),
        *(f"  device {i}   {name}, {mem} GiB" for i, (name, mem) in enumerate(zip(hw["names"], hw["memory_gib"]))),
        f"bf16         {'yes' if hw['bf16'] else 'no'}",
        f"backend      {hw['dist_backend']}",
        f"visible via  {hw['visible_devices_env'] or '-'}",
        f"eval device  {hw['eval_device']}",
        f"CANN         {hw['cann'] or '-'}",
        "packages",
        *(f"  {name:<13}{version or '-'}" for name, version in result["packages"].items()),
        f"openmind-cli {result['openmind_cli'] or '-'}",
        f"launcher     {result['launcher']}",
        "launch env",
        *(f"  {k}={v}" for k, v in result["launch_env"].items()),
    ]
    print("\n".join(lines))
    if result["warnings"]:
        print("warnings")
        for w in result["warnings"]:
            print(f"  - {w}")
    return 0
