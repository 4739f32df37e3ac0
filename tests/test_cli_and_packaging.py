import subprocess
import sys
import zipfile

import pytest

SUBPACKAGES = ["mathmind", "mathmind.hardware", "mathmind.distill", "mathmind.launch", "mathmind.eval", "mathmind.recipes"]


def test_help_lists_subcommands_and_does_not_import_torch():
    code = ("import sys, mathmind.cli as c; p = c.build_parser(); p.format_help(); "
            "assert 'torch' not in sys.modules, 'torch imported at CLI start-up'; print(p.format_help())")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "doctor" in proc.stdout


@pytest.mark.parametrize("argv, needle", [
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["doctor", "--no-such-flag"], "unrecognized arguments: --no-such-flag"),
    ([], "required: COMMAND"),
])
def test_bad_command_line_is_one_error_line_plus_usage_exit_2(run_mathmind, argv, needle):
    proc = run_mathmind(*argv)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert lines[0].startswith("usage: mathmind")
    assert needle in lines[-1] and "Traceback" not in proc.stderr


def test_user_error_is_one_line_without_traceback(run_mathmind):
    proc = run_mathmind("doctor", "--hardware", "tpu:4")
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("mathmind doctor: error: --hardware 'tpu:4': expected KIND:COUNT with KIND one of "
                                   "npu, cuda, cpu and COUNT >= 1 (e.g. npu:8)")


def test_wheel_installs_every_subpackage_and_its_data(tmp_path):
    root = __import__("pathlib").Path(__file__).resolve().parents[1]
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(tmp_path / "dist"), str(root)], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    (wheel,) = (tmp_path / "dist").glob("mathmind-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "mathmind/hardware/detect.py" in names and "mathmind/distill/__init__.py" in names
    assert any(n.startswith("mathmind/recipes/prompts/") for n in names), "prompt presets missing from the wheel"
    target = tmp_path / "site"
    install = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                             capture_output=True, text=True)
    assert install.returncode == 0, install.stderr
    # Import from the wheel's files only: put them first on sys.path and check where each module came from.
    code = (f"import sys, importlib; sys.path.insert(0, {str(target)!r})\n"
            f"for name in {SUBPACKAGES!r}:\n"
            f"    m = importlib.import_module(name)\n"
            f"    assert m.__file__.startswith({str(target)!r}), (name, m.__file__)\n"
            "from mathmind.cli import main\nprint('ok')")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr
