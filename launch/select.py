"""Pick the launcher `mathmind train` uses on this machine."""

from __future__ import annotations

import shutil
from typing import Callable

from mathmind.hardware import Hardware

# launcher name -> the executable that must be on PATH for it
LAUNCHER_EXECUTABLES: dict[str, str] = {
    "openmind": "openmind-cli",
    "llamafactory": "llamafactory-cli",
    "torchrun": "torchrun",
}

# The stages `--launcher auto` gives each launcher (None: any); an explicit --launcher may take others.
# openMind 1.0 trains sft only; LLaMA-Factory (which supports 910B) takes the preference stages it lacks.
AUTO_STAGES: dict[str, set[str] | None] = {
    "openmind": {"sft"},
    "llamafactory": {"dpo", "kto"},
    "torchrun": None,
}


# Launchers that cannot train tool-call turns (function_call / observation: `pot` data); auto passes them over.
NO_TOOL_CALLS = {"openmind"}


def pick_launcher(hw: Hardware, stage: str = "sft", which: Callable[[str], str | None] = shutil.which,
                  tool_calls: bool = False) -> tuple[str, list[str]]:
    """The first of the device kind's preferred launchers that takes `stage` (and tool-call data, when the
    datasets have it) and whose executable is found, and notes on the ones passed over."""
    notes: list[str] = []
    for name in hw.spec.launchers:
        stages = AUTO_STAGES[name]
        if stages is not None and stage not in stages:
            continue
        if tool_calls and name in NO_TOOL_CALLS:
            notes.append(f"{LAUNCHER_EXECUTABLES[name]} passed over: it cannot train tool-call (pot) turns")
            continue
        if which(LAUNCHER_EXECUTABLES[name]):
            return name, notes
        if name != "torchrun":   # torchrun is also reachable as `python -m torch.distributed.run`
            notes.append(f"{LAUNCHER_EXECUTABLES[name]} not found on PATH")
    # torchrun ships with torch; `python -m torch.distributed.run` is the same program when torch is installed.
    return "torchrun", notes
