import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def run_mathmind():
    """Run the installed `mathmind` CLI as a user would, in a subprocess."""

    def run(*args: str, env: dict | None = None, cwd: str | None = None, timeout: float = 300,
            input: str | None = None) -> subprocess.CompletedProcess:
        full_env = {**os.environ, **(env or {})}
        return subprocess.run([sys.executable, "-m", "mathmind", *args], env=full_env, cwd=cwd, timeout=timeout,
                              capture_output=True, text=True, input=input)

    return run


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """A tiny Qwen2 model built offline (random weights), shared by the training and evaluation tests."""
    from mathmind.problems import make_problems
    from mathmind.tiny import build_tiny_model

    path = tmp_path_factory.mktemp("models") / "tiny"
    return build_tiny_model(path, [p["question"] + " " + p["answer"] for p in make_problems(240)])
