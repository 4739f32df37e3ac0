"""Find out what this machine has: one `Hardware` record that every other module reads."""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping

from mathmind.errors import UserError
from mathmind.hardware.kinds import KINDS, DeviceKind

GIB = 1024 ** 3
PROBE_TIMEOUT_S = 120


@dataclass
class Hardware:
    kind: str
    count: int
    names: list[str]
    memory_gib: list[float]
    bf16: bool
    dist_backend: str
    visible_devices_env: str | None
    eval_device: str
    torch: str | None = None
    torch_npu: str | None = None
    cann: str | None = None
    simulated: bool = False
    warnings: list[str] = field(default_factory=list)

    @property
    def spec(self) -> DeviceKind:
        return KINDS[self.kind]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _make(kind: str, count: int, names: list[str], memory_gib: list[float], bf16: bool, **extra: Any) -> Hardware:
    spec = KINDS[kind]
    return Hardware(
        kind=kind, count=count, names=names, memory_gib=memory_gib, bf16=bf16,
        dist_backend=spec.dist_backend, visible_devices_env=spec.visible_devices_env,
        eval_device=spec.eval_device_pattern.format(name=kind), **extra,
    )


def simulate(spec: str) -> Hardware:
    """Hardware from a `KIND:COUNT` string (`npu:8`, `cuda:8`, `cpu:2`), to render launches for a machine you are not on."""
    match = re.fullmatch(r"(\w+):(\d+)", spec.strip())
    if not match or match.group(1) not in KINDS or int(match.group(2)) < 1:
        raise UserError(f"--hardware {spec!r}: expected KIND:COUNT with KIND one of {', '.join(KINDS)} and COUNT >= 1 (e.g. npu:8)")
    kind, count = match.group(1), int(match.group(2))
    return _make(kind, count, names=[f"simulated {kind}"] * count, memory_gib=[0.0] * count,
                 bf16=kind != "cpu", simulated=True)


def cann_version(environ: Mapping[str, str]) -> str | None:
    """CANN toolkit version from the sourced environment (set_env.sh exports ASCEND_TOOLKIT_HOME)."""
    for var in ("ASCEND_TOOLKIT_HOME", "ASCEND_HOME_PATH"):
        home = environ.get(var)
        if not home:
            continue
        home_path = Path(home)
        candidates = [*home_path.glob("*-linux/ascend_toolkit_install.info"), home_path / "version.cfg",
                      home_path / "compiler" / "version.info", home_path / "runtime" / "version.info"]
        for candidate in candidates:
            if candidate.is_file():
                found = re.search(r"^\s*(?:version|Version)\s*=\s*\[?([\w.\-]+)", candidate.read_text(errors="replace"), re.M)
                if found:
                    return found.group(1)
        return "unknown"  # sourced, but no version file where CANN keeps one
    return None


def _release(version: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", version.split("+")[0])[:3])


def run_probe(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Run mathmind.hardware.probe in a subprocess and return its facts."""
    env = dict(os.environ if environ is None else environ)

    def once(extra: dict[str, str]) -> dict[str, Any]:
        proc = subprocess.run([sys.executable, "-m", "mathmind.hardware.probe"], env={**env, **extra},
                              capture_output=True, text=True, timeout=PROBE_TIMEOUT_S)
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            return {"torch": None, "torch_error": f"hardware probe crashed (exit {proc.returncode}): {last}",
                    "torch_npu_installed": False, "accelerators": {}, "accelerator_errors": {}}
        return json.loads(proc.stdout)

    facts = once({})
    if facts.get("torch_error") and facts.get("torch_npu_installed"):
        # torch_npu's backend autoload can break `import torch` (CANN not sourced): look again without it.
        retry = once({"TORCH_DEVICE_BACKEND_AUTOLOAD": "0"})
        if retry.get("torch"):
            retry["torch_npu_error"] = retry.get("torch_npu_error") or facts["torch_error"]
            facts = retry
    return facts


def from_facts(facts: Mapping[str, Any], environ: Mapping[str, str]) -> Hardware:
    """Build the Hardware record (and its warnings) from the probe's facts."""
    warnings: list[str] = []
    accelerators = facts.get("accelerators") or {}
    kind = next((k for k in KINDS if k in accelerators and accelerators[k]["devices"]), "cpu")
    if kind == "cpu":
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / GIB
        # bf16 on CPU runs, but slowly and without the numerics tests; mathmind trains in fp32 there.
        hw = _make("cpu", 1, names=[platform.processor() or platform.machine()], memory_gib=[round(memory, 1)], bf16=False)
    else:
        devices = accelerators[kind]["devices"]
        hw = _make(kind, len(devices), names=[d["name"] for d in devices],
                   memory_gib=[round(d["memory_bytes"] / GIB, 1) for d in devices], bf16=bool(accelerators[kind]["bf16"]))
    hw.torch = facts.get("torch")
    hw.torch_npu = facts.get("torch_npu")
    hw.cann = cann_version(environ)

    if facts.get("torch_error"):
        warnings.append(f"torch cannot be imported ({facts['torch_error']}): install the torch build for your hardware "
                        "(on Ascend the one your torch_npu requires), then `pip install mathmind[train]`")
    if facts.get("torch_npu_installed"):
        if facts.get("torch_npu_error"):
            hint = ("CANN is not sourced: run `source /usr/local/Ascend/ascend-toolkit/set_env.sh` (or your install path) first"
                    if hw.cann is None else "check that CANN, the driver and torch_npu versions match")
            warnings.append(f"torch_npu is installed but fails to load ({facts['torch_npu_error']}): {hint}")
        if hw.torch_npu and hw.torch and hw.torch_npu != "unknown" and _release(hw.torch_npu) != _release(hw.torch):
            warnings.append(f"torch {hw.torch} does not match torch_npu {hw.torch_npu}: torch_npu N.M.P needs torch N.M.P exactly; "
                            f"install torch=={'.'.join(map(str, _release(hw.torch_npu)))}")
    for k, err in (facts.get("accelerator_errors") or {}).items():
        warnings.append(f"{k} devices could not be queried ({err})")
    if kind == "cpu":
        warnings.append("no NPU or GPU found: training and evaluation run on the CPU (fine for the demo and tests, "
                        "far too slow for a 7B model)")
    if kind == "npu" and hw.cann is None:
        warnings.append("ASCEND_TOOLKIT_HOME is not set: source CANN's set_env.sh in every shell and batch job that trains")
    hw.warnings = warnings
    return hw


def detect(environ: Mapping[str, str] | None = None, facts: Mapping[str, Any] | None = None) -> Hardware:
    """Detect the hardware. `facts` (the probe's output) and `environ` are injectable for tests."""
    environ = os.environ if environ is None else environ
    return from_facts(run_probe(environ) if facts is None else facts, environ)


def eval_device(requested: str, hw: Hardware | None) -> str:
    """The device string for lm-eval's HFLM: `auto` -> the detected kind's (npu:0, cuda:0, cpu).

    A bare kind name becomes its first device (`npu` -> `npu:0`): lm-eval takes `npu:N` only and
    silently runs a bare `npu` on the CPU.
    """
    if requested == "auto":
        if hw is None:
            raise UserError("--device auto needs the hardware detected")
        return hw.eval_device
    if requested in KINDS:
        return KINDS[requested].eval_device_pattern.format(name=requested)
    kind = requested.split(":", 1)[0]
    if kind not in KINDS:
        raise UserError(f"--device {requested!r}: expected auto, or one of {', '.join(KINDS)} with an index (npu:0)")
    return requested
