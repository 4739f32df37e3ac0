"""Stand-ins for torch / torch_npu, written as real importable packages so that the hardware probe
(a real subprocess) sees them through PYTHONPATH exactly as it would see the real ones."""

from __future__ import annotations

import textwrap
from pathlib import Path

_DEVICE_MODULE = '''
import os as _os

def _count():
    # As the real runtimes do: an empty visible-devices variable hides every device, a list shows those.
    visible = _os.environ.get({visible_env!r})
    return {count} if visible is None else min({count}, len([d for d in visible.split(",") if d.strip()]))

class _Props:
    def __init__(self, total_memory):
        self.total_memory = total_memory

class {cls}:
    @staticmethod
    def is_available():
        return _count() > 0
    @staticmethod
    def device_count():
        return _count()
    @staticmethod
    def get_device_name(i):
        return {name!r}
    @staticmethod
    def get_device_properties(i):
        return _Props({memory})
    @staticmethod
    def is_bf16_supported():
        return True
'''


def fake_torch(root: Path, version: str, cuda_devices: int = 0, cuda_name: str = "NVIDIA H100 80GB HBM3") -> Path:
    pkg = root / "torch"
    pkg.mkdir(parents=True, exist_ok=True)
    body = _DEVICE_MODULE.format(cls="cuda", count=cuda_devices, name=cuda_name, memory=80 * 1024**3,
                                 visible_env="CUDA_VISIBLE_DEVICES")
    (pkg / "__init__.py").write_text(f"__version__ = {version!r}\n" + body)
    return root


def fake_torch_npu(root: Path, version: str, devices: int = 8, import_error: str | None = None) -> Path:
    pkg = root / "torch_npu"
    pkg.mkdir(parents=True, exist_ok=True)
    if import_error:
        (pkg / "__init__.py").write_text(f"raise ImportError({import_error!r})\n")
        return root
    body = _DEVICE_MODULE.format(cls="npu", count=devices, name="Ascend910B1", memory=64 * 1024**3,
                                 visible_env="ASCEND_RT_VISIBLE_DEVICES")
    (pkg / "__init__.py").write_text(textwrap.dedent(f"""
        import torch
        __version__ = {version!r}
        """) + body + "\ntorch.npu = npu\n")
    return root


def cann_home(root: Path, version: str = "8.0.RC2") -> Path:
    home = root / "ascend-toolkit" / "latest"
    (home / "x86_64-linux").mkdir(parents=True, exist_ok=True)
    (home / "x86_64-linux" / "ascend_toolkit_install.info").write_text(f"package_name=Ascend-cann-toolkit\nversion={version}\n")
    return home
