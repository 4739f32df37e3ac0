"""The environment a launched training or evaluation process gets, per device kind."""

from __future__ import annotations

from typing import Mapping

from mathmind.hardware.detect import Hardware


def launch_env(hw: Hardware, environ: Mapping[str, str], *, socket_ifname: str | None = None,
               if_ip: str | None = None) -> dict[str, str]:
    """Variables to set for a launched process on `hw`.

    The device kind's defaults, the visible-devices list and the collective-network settings, each
    left as the user has it where their environment already sets it (the user's value wins and is
    what is returned, so a dry run shows what will really be used).
    """
    spec = hw.spec
    wanted: dict[str, str] = dict(spec.env_defaults)
    if spec.visible_devices_env:
        wanted[spec.visible_devices_env] = ",".join(str(i) for i in range(hw.count))
    if socket_ifname and spec.socket_ifname_env:
        wanted[spec.socket_ifname_env] = socket_ifname
    if if_ip and spec.if_ip_env:
        wanted[spec.if_ip_env] = if_ip
    for var in (spec.socket_ifname_env, spec.if_ip_env):
        if var and var in environ:
            wanted[var] = environ[var]
    return {name: environ.get(name, value) for name, value in wanted.items()}
