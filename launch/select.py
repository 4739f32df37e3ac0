"""Pick the launcher `mathmind train` uses on this machine."""

from __future__ import annotations

import shutil
from typing import Callable

from mathmind.hardware import Hardware

# launcher name -> the executable that must be on PATH for it
LAUNCHER_EXECUTABLES: dict[str, str] = {
    "openmind": "openmind-cli",
    "torchrun": "torchrun",
}


def pick_launcher(hw: Hardware, which: Callable[[str], str | None] = shutil.which) -> tuple[str, list[str]]:
    """The first of the device kind's preferred launchers whose executable is found, and notes on the others."""
    notes: list[str] = []
    for name in hw.spec.launchers:
        if which(LAUNCHER_EXECUTABLES[name]):
            return name, notes
        if name != "torchrun":   # torchrun is also reachable as `python -m torch.distributed.run`
            notes.append(f"{LAUNCHER_EXECUTABLES[name]} not found on PATH")
    # torchrun ships with torch; `python -m torch.distributed.run` is the same program when torch is installed.
    return "torchrun", notes
