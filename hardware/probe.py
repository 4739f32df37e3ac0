"""Probe torch, torch_npu and the accelerators; print one JSON object of raw facts.

Run in a subprocess on purpose (`python -m mathmind.hardware.probe`): a torch_npu installed without
CANN breaks `import torch` itself (backend autoload), and a broken driver can abort the process.
Only the standard library is imported at module level, so the probe also runs from a bare path.
"""

from __future__ import annotations

import importlib.util
import json
import sys


def _error(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"


def probe() -> dict:
    facts: dict = {
        "torch": None, "torch_error": None,
        "torch_npu_installed": importlib.util.find_spec("torch_npu") is not None,
        "torch_npu": None, "torch_npu_error": None,
        "accelerators": {}, "accelerator_errors": {},
    }
    try:
        import torch
    except Exception as e:  # noqa: BLE001 - any failure here is a fact to report
        facts["torch_error"] = _error(e)
        return facts
    facts["torch"] = str(torch.__version__)
    if facts["torch_npu_installed"]:
        try:
            import torch_npu  # noqa: F401 - registers torch.npu
            facts["torch_npu"] = str(getattr(torch_npu, "__version__", "unknown"))
        except Exception as e:  # noqa: BLE001
            facts["torch_npu_error"] = _error(e)
    for kind in ("npu", "cuda"):
        module = getattr(torch, kind, None)
        if module is None:
            continue
        try:
            if not module.is_available():
                continue
            count = int(module.device_count())
            devices = []
            for i in range(count):
                props = module.get_device_properties(i)
                devices.append({"name": str(module.get_device_name(i)), "memory_bytes": int(props.total_memory)})
            facts["accelerators"][kind] = {"devices": devices, "bf16": bool(module.is_bf16_supported())}
        except Exception as e:  # noqa: BLE001
            facts["accelerator_errors"][kind] = _error(e)
    return facts


if __name__ == "__main__":
    json.dump(probe(), sys.stdout)
