"""Inside a launched training process: which device kind this is, and its runtime made ready.

`mathmind train` passes the kind in MATHMIND_DEVICE_KIND, so ranks do not probe again.
"""

from __future__ import annotations

import importlib
import importlib.util
import os

from mathmind.errors import UserError
from mathmind.hardware.kinds import KINDS, DeviceKind


def prepare_runtime(environ: dict[str, str] | None = None) -> DeviceKind:
    """The launched process's device kind, after importing what it needs (torch_npu on Ascend)."""
    name = (environ if environ is not None else os.environ).get("MATHMIND_DEVICE_KIND", "cpu")
    if name not in KINDS:
        raise UserError(f"MATHMIND_DEVICE_KIND={name!r}: expected one of {', '.join(KINDS)}")
    spec = KINDS[name]
    for module in spec.runtime_modules:
        try:
            importlib.import_module(module)
        except ImportError as e:
            raise UserError(f"{name}: cannot import {module} ({e}); on Ascend install torch_npu matching torch, and source CANN's set_env.sh") from None
    return spec


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


# Recipe names (LLaMA-Factory's flash_attn values, mapped in launch/recipe.py) -> transformers attn_implementation.
ATTENTION_NAMES = {"eager": "eager", "sdpa": "sdpa", "flash_attention_2": "flash_attention_2"}


def attention_implementation(spec: DeviceKind, requested: str = "auto") -> tuple[str, str | None]:
    """transformers' attn_implementation for this device, and a note when the request could not be met.

    `auto`: the device's first variable-length kernel that is installed (flash-attention on CUDA,
    torch_npu's npu_fusion_attention on Ascend), else sdpa, which transformers 5 also runs per sample on
    packed batches (it builds a block-diagonal mask from position_ids), only slower.
    """
    if requested == "auto":
        found = next((impl for impl, module in spec.varlen_attention if installed(module)), None)
        return found or "sdpa", None
    if requested not in ATTENTION_NAMES:
        raise UserError(f"attention {requested!r}: expected auto or one of {', '.join(ATTENTION_NAMES)}")
    if requested == "flash_attention_2":
        module = dict(spec.varlen_attention).get(requested)
        if module is None or not installed(module):
            why = f"{module} is not installed" if module else f"{spec.name} has no flash-attention kernel"
            return "sdpa", f"flash attention asked for, but {why}: using sdpa (per-sample attention, slower)"
    return requested, None


def fused_kernels_available(spec: DeviceKind) -> str | None:
    """The fused-kernel library (liger_kernel) usable on this device, or None."""
    return spec.fused_kernels if spec.fused_kernels and installed(spec.fused_kernels) else None


def device_memory_bytes(spec: DeviceKind, environ: dict[str, str] | None = None) -> int:
    """Memory of this process's device: the accelerator's, or on the CPU the host's share per local process."""
    environ = environ if environ is not None else dict(os.environ)
    if spec.name == "cpu":
        per_process = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        return per_process // max(1, int(environ.get("LOCAL_WORLD_SIZE", "1")))
    import torch

    module = getattr(torch, spec.name)
    return int(module.get_device_properties(int(environ.get("LOCAL_RANK", "0"))).total_memory)


def peak_memory_bytes(spec: DeviceKind) -> int | None:
    """Peak memory this process allocated on its accelerator (None on the CPU, where torch does not count it)."""
    if spec.name == "cpu":
        return None
    import torch

    return int(getattr(torch, spec.name).max_memory_allocated())
