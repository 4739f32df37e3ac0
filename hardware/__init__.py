"""The device-abstraction layer: the only place that knows NPU vs CUDA vs CPU.

    from mathmind.hardware import detect, launch_env
    hw = detect()            # kind, count, dist_backend, visible_devices_env, eval_device, versions, warnings
    env = launch_env(hw, os.environ)

torch and torch_npu are never imported here at module level: probing happens in a subprocess.
"""

from mathmind.hardware.detect import Hardware, detect, simulate
from mathmind.hardware.env import launch_env
from mathmind.hardware.kinds import KINDS, DeviceKind

__all__ = ["Hardware", "detect", "simulate", "launch_env", "KINDS", "DeviceKind"]
