"""Models from ModelScope, the openMind hub (Modelers), Hugging Face or a local folder.

A model is named `modelscope:Qwen/Qwen2.5-7B-Instruct`, `openmind:AI-Research/Qwen2.5-7B-Instruct`,
`hf:Qwen/Qwen2.5-7B-Instruct`, a bare `Qwen/Qwen2.5-7B-Instruct` (the default hub: ModelScope, as
Ascend users expect, or $MATHMIND_DEFAULT_HUB), or a local folder. Every hub is asked through its
own client's `snapshot_download` (resumable, with progress bars). The cache is looked at first
(`local_files_only`, instant); the network is used only when it misses, and a failure is one line
that says what was tried, where, and how to use a local folder instead. `mathmind train` and
`mathmind eval` resolve the model once per node before launching, so ranks never download.

  mathmind pull Qwen/Qwen2.5-7B-Instruct                       # ModelScope, into its cache
  mathmind pull hf:Qwen/Qwen2.5-0.5B-Instruct --local-dir models/qwen0.5b
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import socket
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from mathmind.errors import UserError


@dataclass(frozen=True)
class Hub:
    module: str            # where its snapshot_download lives
    package: str           # what to pip install
    cache_env: str         # the variable that moves its cache
    default_revision: str | None
    endpoint_envs: tuple[str, ...]   # the variables its client reads the hub's address from, first wins
    default_endpoint: str


HUBS: dict[str, Hub] = {
    "modelscope": Hub("modelscope.hub.snapshot_download", "modelscope", "MODELSCOPE_CACHE", "master",
                      ("MODELSCOPE_ENDPOINT", "MODELSCOPE_DOMAIN"), "https://modelscope.cn"),
    "openmind": Hub("openmind_hub", "openmind-hub", "HUB_CACHE_DIR", "main", ("OPENMIND_HUB_ENDPOINT",), "https://modelers.cn"),
    "hf": Hub("huggingface_hub", "huggingface_hub", "HF_HOME", None, ("HF_ENDPOINT",), "https://huggingface.co"),
}
OFFLINE_VARS = ("MATHMIND_OFFLINE", "HF_HUB_OFFLINE")
PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")
CONNECT_TIMEOUT_S = 5.0


def looks_like_path(spec: str) -> bool:
    """A value written as a path is never a hub id: absolute, ./ ../ ~, or its parent folder exists here."""
    if spec.startswith(("/", "./", "../", "~", ".\\", "..\\")) or spec in (".", ".."):
        return True
    parent = Path(spec).parent
    return str(parent) != "." and parent.is_dir()


def hub_address(hub_name: str) -> tuple[str, str, int]:
    """(url, host, port) the hub's client will connect to first: a proxy when one is set, else the hub."""
    hub = HUBS[hub_name]
    url = next((os.environ[v] for v in PROXY_VARS if os.environ.get(v)), None) or \
        next((os.environ[v] for v in hub.endpoint_envs if os.environ.get(v)), hub.default_endpoint)
    parsed = urlparse(url if "://" in url else f"https://{url}")
    return url, parsed.hostname or "", parsed.port or (80 if parsed.scheme == "http" else 443)


def unreachable(hub_name: str) -> str | None:
    """Why the hub cannot be reached (a name that does not resolve, a refused or silent connection), else None.

    One TCP connect, bounded in time, DNS included: the hub clients retry for 15-60 s before saying so.
    """
    url, host, port = hub_address(hub_name)
    result: list[str | None] = []

    def connect() -> None:
        try:
            socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S).close()
            result.append(None)
        except OSError as e:
            result.append(f"{url} is unreachable ({e.strerror or type(e).__name__})")
    probe = threading.Thread(target=connect, daemon=True)
    probe.start()
    probe.join(CONNECT_TIMEOUT_S + 1)
    return result[0] if result else f"{url} is unreachable (no answer in {CONNECT_TIMEOUT_S:g} s)"


def default_hub() -> str:
    hub = os.environ.get("MATHMIND_DEFAULT_HUB", "modelscope")
    if hub not in HUBS:
        raise UserError(f"MATHMIND_DEFAULT_HUB={hub!r}: expected one of {', '.join(HUBS)}")
    return hub


def split_model_id(spec: str, hub: str | None = None) -> tuple[str, str]:
    prefix, sep, rest = spec.partition(":")
    if sep and prefix in HUBS:
        return prefix, rest
    return hub or default_hub(), spec


def snapshot(hub_name: str, model_id: str, revision: str | None, cache_dir: str | None, local_dir: str | None,
             local_files_only: bool) -> str:
    hub = HUBS[hub_name]
    try:
        download = importlib.import_module(hub.module).snapshot_download
    except ImportError:
        raise UserError(f"{hub_name}:{model_id}: the {hub_name} client is not installed (pip install {hub.package})") from None
    kwargs = {"revision": revision or hub.default_revision, "cache_dir": cache_dir, "local_dir": local_dir,
              "local_files_only": local_files_only}
    return str(download(model_id, **{k: v for k, v in kwargs.items() if v is not None or k == "local_files_only"}))


def cached(hub_name: str, model_id: str, revision: str | None = None, cache_dir: str | None = None,
           local_dir: str | None = None) -> str | None:
    """The model's folder in the hub client's cache, or None; no network (`local_files_only`)."""
    try:
        return snapshot(hub_name, model_id, revision, cache_dir, local_dir, local_files_only=True)
    except UserError:
        raise
    except Exception:
        return None                    # a cache miss: each client raises its own kind of error


def missing_folder(spec: str) -> UserError:
    path = Path(spec).expanduser()
    if path.exists():
        return UserError(f"{spec}: is a file, not a model folder")
    existing = next((p for p in path.absolute().parents if p.is_dir()), None)
    missing = path.absolute().relative_to(existing) if existing else path
    hint = "" if spec.startswith(("/", ".", "~")) else f" (for a hub id, write {default_hub()}:{spec})"
    return UserError(f"{spec}: no such folder ({existing} has no {missing.parts[0]!r}); a value written as a path "
                     f"is not looked up on a hub{hint}")


def pull(spec: str, hub: str | None = None, revision: str | None = None, cache_dir: str | None = None,
         local_dir: str | None = None) -> str:
    """The local folder holding `spec`: as given if it is a folder, else from the cache, else downloaded."""
    if os.path.isdir(os.path.expanduser(spec)):
        return os.path.expanduser(spec)
    if looks_like_path(spec):
        raise missing_folder(spec)
    hub_name, model_id = split_model_id(spec, hub)
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", model_id):
        raise UserError(f"{spec!r}: not a folder here and not a hub id (owner/name)")
    found = cached(hub_name, model_id, revision, cache_dir, local_dir)
    if found:
        return found
    cache = cache_dir or os.environ.get(HUBS[hub_name].cache_env) or f"{hub_name}'s default cache"
    offline = [v for v in OFFLINE_VARS if os.environ.get(v, "") not in ("", "0")]
    if offline:
        raise UserError(f"{hub_name}:{model_id} is not in {cache} and {offline[0]} is set, so nothing was downloaded; "
                        f"download it where the hub is reachable, or set model_name_or_path to a local folder")
    why = unreachable(hub_name)
    if why:
        raise UserError(f"{hub_name}:{model_id} is not in {cache} and {why}; download it where the hub is reachable, "
                        f"or pass a local folder instead")
    try:
        return snapshot(hub_name, model_id, revision, cache_dir, local_dir, local_files_only=False)
    except Exception as e:
        reason = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
        raise UserError(f"could not get {hub_name}:{model_id}: not in {cache}, and the download failed ({reason}); "
                        f"copy the model to a folder and pass that folder instead") from None


def resolve_model(spec: str, dry_run: bool = False, notes: list[str] | None = None) -> str:
    """`pull`, except that a dry run downloads nothing: it says what it would do."""
    if os.path.isdir(os.path.expanduser(spec)):
        return os.path.expanduser(spec)
    if looks_like_path(spec):
        raise missing_folder(spec)
    if dry_run:
        hub_name, model_id = split_model_id(spec)
        try:
            found = cached(hub_name, model_id)
        except UserError:              # the hub's client is not installed here
            found = None
        if found is None and notes is not None:
            notes.append(f"{hub_name}:{model_id} is not in the local cache; a real run downloads it first (once per node)")
        return found or spec
    return pull(spec)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="hub id (modelscope:/openmind:/hf: prefix, or bare for the default hub) or a local folder")
    parser.add_argument("--hub", choices=sorted(HUBS), default=None, help="hub for a bare id (default: $MATHMIND_DEFAULT_HUB, else modelscope)")
    parser.add_argument("--revision", default=None, help="branch, tag or commit (default: the hub's main branch)")
    parser.add_argument("--cache-dir", default=None, help="the hub client's cache folder")
    parser.add_argument("--local-dir", default=None, help="put the files in this folder instead of the cache")


def run(args: argparse.Namespace) -> int:
    path = pull(args.model, args.hub, args.revision, args.cache_dir, args.local_dir)
    print(path)
    print(f"pull: {args.model} -> {path}", file=sys.stderr)
    return 0
