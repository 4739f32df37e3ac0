"""Inside a launched training process: which device kind this is, and its runtime made ready.

`mathmind train` passes the kind in MATHMIND_DEVICE_KIND, so ranks do not probe again.
"""

from __future__ import annotations

import importlib
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
