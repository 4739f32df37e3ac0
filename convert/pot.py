"""Run model-written program-of-thought code, contained. The code is untrusted.

Layers, each catching what the others might miss:
  - a fresh process (`python -I`: no user site, no PYTHON* variables) in a new session, killed with
    its whole process group at the wall-clock limit;
  - rlimits: CPU seconds, address space, file size (which also caps what it can print), open files,
    processes, no core files; started as `nobody` when mathmind runs as root and `nobody` can reach
    this Python, so the process limit and file permissions hold too (root ignores RLIMIT_NPROC);
  - a fresh temporary working directory, deleted afterwards; an empty environment;
  - an audit hook installed before the code runs: no sockets, no subprocesses or forks, no writes
    outside the working directory, and imports limited to the standard library plus sympy (and mpmath,
    which sympy uses); ctypes, multiprocessing and the like are refused.
"""

from __future__ import annotations

import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

# Runs inside the sandbox process before the untrusted code; the code arrives on stdin.
RUNNER = r'''
import os, sys
_code = sys.stdin.read()
_root = os.path.realpath(os.getcwd())
if "sympy" in _code:   # imported by intent, before the hook: sympy itself uses ctypes, which the code may not
    import sympy
_refused = {"ctypes", "_ctypes", "multiprocessing", "_multiprocessing", "subprocess", "_posixsubprocess", "socket", "_socket",
            "ssl", "_ssl", "asyncio", "pty", "resource", "signal", "mmap", "fcntl", "urllib", "http", "ftplib", "smtplib"}
for _name in [n for n in sys.modules if n.partition(".")[0] in _refused]:
    del sys.modules[_name]   # so that the code's own `import ctypes` goes through the hook
_allowed_imports = (set(sys.stdlib_module_names) | {"sympy", "mpmath"}) - _refused
_blocked = ("socket.", "subprocess.", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
            "os.kill", "os.killpg", "ctypes.", "os.setuid", "os.chroot", "sys.addaudithook")
_write_events = {"os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.chmod", "os.chown", "os.symlink", "os.link",
                 "os.truncate", "os.utime", "shutil.rmtree", "shutil.copyfile", "shutil.move"}

def _inside(path):
    try:
        real = os.path.realpath(os.fsdecode(path))
    except (TypeError, ValueError):
        return False
    return real == _root or real.startswith(_root + os.sep)

def _hook(event, args):
    if event == "import":
        if args[0].partition(".")[0] not in _allowed_imports:
            raise ImportError(f"import of {args[0]!r} is not allowed here (standard library, math and sympy only)")
    elif event.startswith(_blocked):
        raise PermissionError(f"{event} is not allowed here")
    elif event == "open":
        path, mode, flags = args
        writing = (mode and any(c in mode for c in "wax+")) or (flags or 0) & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)
        if writing and not isinstance(path, int) and not _inside(path):
            raise PermissionError(f"writing {path!r} is not allowed here (only inside the working directory)")
    elif event in _write_events:
        if not all(_inside(a) for a in args if isinstance(a, (str, bytes, os.PathLike))):
            raise PermissionError(f"{event} outside the working directory is not allowed here")

sys.addaudithook(_hook)
exec(compile(_code, "<program>", "exec"), {"__name__": "__main__", "__builtins__": __builtins__})
'''


@dataclass(frozen=True)
class Limits:
    wall_s: float = 10.0
    cpu_s: int = 10
    memory_bytes: int = 1 << 30         # sympy alone maps ~150 MB
    output_bytes: int = 64 * 1024
    processes: int = 64


@dataclass(frozen=True)
class Execution:
    status: str          # ok | error | timeout | killed | output_limit
    stdout: str
    stderr_tail: str
    returncode: int | None

    @property
    def error_line(self) -> str:
        lines = [line for line in self.stderr_tail.splitlines() if line.strip()]
        return lines[-1] if lines else self.status


NOBODY = 65534


def _limit(limits: Limits, drop_to_nobody: bool):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s + 1))
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.output_bytes, limits.output_bytes))
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if drop_to_nobody:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))
    return apply


def _others_can_run_python() -> bool:
    """Whether `nobody` could start this Python: every folder on the way to it and its libraries is o+x."""
    import sysconfig

    for target in {os.path.realpath(sys.executable), os.path.realpath(sysconfig.get_paths()["stdlib"]),
                   os.path.realpath(sysconfig.get_paths()["purelib"])}:
        path = Path(target)
        for folder in [path, *path.parents] if path.is_dir() else path.parents:
            if not folder.stat().st_mode & 0o001:
                return False
    return True


def run_program(code: str, limits: Limits = Limits()) -> Execution:
    """Execute `code` in the sandbox; what it printed, and how it ended."""
    drop = os.geteuid() == 0 and _others_can_run_python()
    with tempfile.TemporaryDirectory(prefix="mathmind-pot-") as tmp:
        work = Path(tmp, "work")
        work.mkdir()
        if drop:
            os.chown(work, NOBODY, NOBODY)
        out_path, err_path = Path(tmp, "stdout"), Path(tmp, "stderr")
        with out_path.open("wb") as out, err_path.open("wb") as err:
            proc = subprocess.Popen([sys.executable, "-I", "-c", RUNNER], stdin=subprocess.PIPE, stdout=out, stderr=err,
                                    cwd=work, env={"PATH": "/usr/bin:/bin", "HOME": str(work), "LANG": "C.UTF-8"},
                                    start_new_session=True, preexec_fn=_limit(limits, drop))
            try:
                proc.communicate(code.encode("utf-8"), timeout=limits.wall_s)
                status = None
            except subprocess.TimeoutExpired:
                status = "timeout"
            finally:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)   # the code's own children too
                except ProcessLookupError:
                    pass
                proc.wait()
        stdout = out_path.read_bytes()[:limits.output_bytes].decode("utf-8", "replace")
        stderr = err_path.read_bytes()[-4000:].decode("utf-8", "replace")
    code_ = proc.returncode
    if status is None:
        if code_ == 0:
            status = "ok"
        elif code_ == -signal.SIGXFSZ or "File too large" in stderr:   # Python ignores SIGXFSZ: EFBIG instead
            status = "output_limit"
        elif code_ in (-signal.SIGKILL, -signal.SIGXCPU) or "MemoryError" in stderr:
            status = "killed"
        else:
            status = "error"
    return Execution(status, stdout, stderr, code_)


CODE_BLOCK = re.compile(r"```(?:python|py)?\s*\n(.*?)```", re.S)


def code_of(text: str) -> str | None:
    """The Python in a function_call turn: its ```python block, else the text itself if it parses."""
    match = CODE_BLOCK.search(text)
    if match:
        return match.group(1)
    try:
        compile(text, "<turn>", "exec")
    except SyntaxError:
        return None
    return text
