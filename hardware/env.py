"""The environment a launched training or evaluation process gets, per device kind."""

from __future__ import annotations

from typing import Mapping

from mathmind.hardware.detect import Hardware
from mathmind.hardware.kinds import KINDS


def visible_devices(count: int, current: str | None) -> str:
    """The first `count` devices: of the user's own list when they set one (cuda:1 on 8 GPUs uses one), else 0..count-1."""
    mine = [d.strip() for d in (current or "").split(",") if d.strip()]
    return ",".join(mine[:count]) if mine else ",".join(str(i) for i in range(count))


def launch_env(hw: Hardware, environ: Mapping[str, str], *, socket_ifname: str | None = None,
               if_ip: str | None = None) -> dict[str, str]:
    """Variables to set for a launched process on `hw`.

    The device kind's defaults and the collective-network settings, each left as the user has it where
    their environment already sets it (the user's value wins and is what is returned, so a dry run shows
    what will really be used). The visible devices are always set: exactly `hw.count` of the requested
    kind, and none of any accelerator when the CPU is requested.
    """
    spec = hw.spec
    wanted: dict[str, str] = dict(spec.env_defaults)
    if socket_ifname and spec.socket_ifname_env:
        wanted[spec.socket_ifname_env] = socket_ifname
    if if_ip and spec.if_ip_env:
        wanted[spec.if_ip_env] = if_ip
    for var in (spec.socket_ifname_env, spec.if_ip_env):
        if var and var in environ:
            wanted[var] = environ[var]
    env = {name: environ.get(name, value) for name, value in wanted.items()}
    if spec.visible_devices_env:
        env[spec.visible_devices_env] = visible_devices(hw.count, environ.get(spec.visible_devices_env))
    if spec.hides_accelerators:
        env.update({k.visible_devices_env: "" for k in KINDS.values() if k.visible_devices_env})
    env.update(spec.forced_env)
    return env
