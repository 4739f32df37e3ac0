"""mathmind pull and hub ids everywhere: resolved offline from a populated cache; an empty cache fails fast."""

import shutil
import time

import pytest


@pytest.fixture
def modelscope_cache(tmp_path, tiny_model):
    """A ModelScope cache holding `mathmind/tiny` in its snapshot layout."""
    cache = tmp_path / "mscache"
    shutil.copytree(tiny_model, cache / "models" / "mathmind" / "tiny")
    return cache


def test_hub_id_resolves_from_the_modelscope_cache_offline(run_mathmind, modelscope_cache, tmp_path):
    env = {"MODELSCOPE_CACHE": str(modelscope_cache), "MATHMIND_OFFLINE": "1"}
    for spec in ("modelscope:mathmind/tiny", "mathmind/tiny"):            # a bare id goes to ModelScope by default
        started = time.time()
        # run where no folder is called `mathmind`: there, `mathmind/tiny` would be a path (see the test below)
        proc = run_mathmind("pull", spec, env=env, cwd=str(tmp_path))
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == str(modelscope_cache / "models" / "mathmind" / "tiny")
        assert time.time() - started < 30


def test_local_folder_is_used_as_is(run_mathmind, tiny_model):
    proc = run_mathmind("pull", str(tiny_model))
    assert proc.returncode == 0 and proc.stdout.strip() == str(tiny_model)


@pytest.mark.parametrize("spec, hub", [("modelscope:nobody/nothing", "modelscope"), ("hf:nobody/nothing", "hf")])
def test_empty_cache_offline_fails_fast_with_one_clear_line(run_mathmind, tmp_path, spec, hub):
    env = {"MODELSCOPE_CACHE": str(tmp_path / "empty"), "HF_HOME": str(tmp_path / "hf"), "MATHMIND_OFFLINE": "1"}
    started = time.time()
    proc = run_mathmind("pull", spec, env=env)
    assert proc.returncode == 2 and time.time() - started < 30
    line = proc.stderr.strip()
    assert "\n" not in line and f"{hub}:nobody/nothing is not in" in line and "local folder" in line


def test_default_hub_is_configurable(run_mathmind, tmp_path):
    proc = run_mathmind("pull", "nobody/nothing", env={"MATHMIND_DEFAULT_HUB": "hf", "HF_HOME": str(tmp_path),
                                                        "MATHMIND_OFFLINE": "1"})
    assert proc.returncode == 2 and "hf:nobody/nothing" in proc.stderr


def test_train_dry_run_resolves_a_cached_hub_model(run_mathmind, modelscope_cache, tmp_path):
    import json
    data = tmp_path / "data"
    data.mkdir()
    (data / "d.json").write_text("[]")
    (data / "dataset_info.json").write_text(json.dumps({"demo_sharegpt": {"file_name": "d.json", "formatting": "sharegpt"}}))
    proc = run_mathmind("train", "recipes/tiny/full_sft.yaml", "--hardware", "cpu:2", "--dry-run",
                        "model_name_or_path=modelscope:mathmind/tiny", cwd=str(tmp_path),
                        env={"MODELSCOPE_CACHE": str(modelscope_cache), "MATHMIND_OFFLINE": "1"})
    assert proc.returncode == 0, proc.stderr
    rendered = (tmp_path / "saves" / "tiny.mathmind" / "recipe.torchrun.yaml").read_text()
    assert f"model_name_or_path: {modelscope_cache / 'models' / 'mathmind' / 'tiny'}" in rendered


def closed_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("spec", ["modelscope:nobody/nothing", "hf:nobody/nothing"])
def test_uncached_model_fails_fast_when_the_hub_is_unreachable(run_mathmind, tmp_path, spec):
    dead = f"http://127.0.0.1:{closed_port()}"
    env = {"MODELSCOPE_CACHE": str(tmp_path / "ms"), "HF_HOME": str(tmp_path / "hf"), "MATHMIND_OFFLINE": "",
           "HF_HUB_OFFLINE": "", "MODELSCOPE_ENDPOINT": dead, "HF_ENDPOINT": dead}
    started = time.monotonic()
    proc = run_mathmind("pull", spec, env=env)
    assert proc.returncode == 2 and time.monotonic() - started <= 10, proc.stderr
    assert f"{spec} is not in" in proc.stderr and f"{dead} is unreachable" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("spec, missing", [("/nonexistent/model", "nonexistent"), ("./saves/typo", "saves"),
                                           ("../nowhere/x", "nowhere"), ("models/typo", "typo"),
                                           ("modelscope:/nonexistent", None)])
def test_path_looking_model_is_never_a_hub_id(run_mathmind, tmp_path, spec, missing):
    work = tmp_path / "work"
    (work / "models").mkdir(parents=True)                                # an existing parent: models/typo is a path
    env = {"MODELSCOPE_CACHE": str(tmp_path / "ms"), "MATHMIND_OFFLINE": "", "MODELSCOPE_ENDPOINT": f"http://127.0.0.1:{closed_port()}"}
    started = time.monotonic()
    proc = run_mathmind("pull", spec, cwd=str(work), env=env)
    assert proc.returncode == 2 and time.monotonic() - started < 10, proc.stderr
    if missing:
        assert f"{spec}: no such folder" in proc.stderr and repr(missing) in proc.stderr
        assert "unreachable" not in proc.stderr and "modelscope:/" not in proc.stderr
        assert ("for a hub id, write modelscope:models/typo" in proc.stderr) == (spec == "models/typo")
    else:
        assert "not a folder here and not a hub id" in proc.stderr


def test_train_dry_run_names_a_missing_model_folder(run_mathmind, tmp_path):
    import json
    data = tmp_path / "data"
    data.mkdir()
    (data / "d.json").write_text("[]")
    (data / "dataset_info.json").write_text(json.dumps({"demo_sharegpt": {"file_name": "d.json", "formatting": "sharegpt"}}))
    (tmp_path / "saves").mkdir()
    proc = run_mathmind("train", "recipes/tiny/full_sft.yaml", "--hardware", "cpu:2", "--dry-run",
                        "model_name_or_path=saves/tiny-typo", cwd=str(tmp_path), env={"MATHMIND_OFFLINE": ""})
    assert proc.returncode == 2 and "saves/tiny-typo: no such folder" in proc.stderr, proc.stderr
    assert "unreachable" not in proc.stderr and "not in modelscope" not in proc.stderr
