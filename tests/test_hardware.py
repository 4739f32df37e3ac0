import json
import os

import pytest

from fakes import cann_home, fake_torch, fake_torch_npu
from mathmind.errors import UserError
from mathmind.hardware import detect, launch_env, simulate
from mathmind.launch.select import pick_launcher


def _env(tmp_path, **extra):
    """The test process's environment without any Ascend/CUDA variables, plus `extra`."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ASCEND", "HCCL", "CUDA_", "NCCL", "TORCH_DEVICE"))}
    env.update(extra)
    return env


def test_cpu_only_machine_is_detected_as_cpu_with_gloo():
    hw = detect()
    assert (hw.kind, hw.dist_backend, hw.eval_device, hw.visible_devices_env) == ("cpu", "gloo", "cpu", None)
    assert hw.torch and hw.torch.startswith("2.13")
    assert any("no NPU or GPU" in w for w in hw.warnings)


def test_8x910b_with_matching_torch_and_sourced_cann(tmp_path):
    fakes = fake_torch_npu(fake_torch(tmp_path / "site", "2.1.0"), "2.1.0.post8", devices=8)
    env = _env(tmp_path, PYTHONPATH=str(fakes), ASCEND_TOOLKIT_HOME=str(cann_home(tmp_path)))
    hw = detect(environ=env)
    assert hw.kind == "npu" and hw.count == 8
    assert hw.names == ["Ascend910B1"] * 8 and hw.memory_gib == [64.0] * 8 and hw.bf16
    assert (hw.dist_backend, hw.visible_devices_env, hw.eval_device) == ("hccl", "ASCEND_RT_VISIBLE_DEVICES", "npu:0")
    assert (hw.torch, hw.torch_npu, hw.cann) == ("2.1.0", "2.1.0.post8", "8.0.RC2")
    assert hw.warnings == []


def test_8x_cuda(tmp_path):
    fakes = fake_torch(tmp_path / "site", "2.4.0+cu121", cuda_devices=8)
    hw = detect(environ=_env(tmp_path, PYTHONPATH=str(fakes)))
    assert (hw.kind, hw.count, hw.dist_backend) == ("cuda", 8, "nccl")
    assert (hw.visible_devices_env, hw.eval_device) == ("CUDA_VISIBLE_DEVICES", "cuda:0")
    assert hw.names[0] == "NVIDIA H100 80GB HBM3" and hw.memory_gib[0] == 80.0


def test_torch_npu_installed_but_cann_not_sourced(tmp_path):
    fakes = fake_torch_npu(fake_torch(tmp_path / "site", "2.1.0"), "2.1.0.post8",
                           import_error="libhccl.so: cannot open shared object file: No such file or directory")
    hw = detect(environ=_env(tmp_path, PYTHONPATH=str(fakes)))
    assert hw.kind == "cpu"
    message = next(w for w in hw.warnings if "torch_npu is installed but fails to load" in w)
    assert "libhccl.so" in message and "set_env.sh" in message


def test_torch_and_torch_npu_version_mismatch(tmp_path):
    fakes = fake_torch_npu(fake_torch(tmp_path / "site", "2.4.0"), "2.1.0.post8", devices=8)
    hw = detect(environ=_env(tmp_path, PYTHONPATH=str(fakes), ASCEND_TOOLKIT_HOME=str(cann_home(tmp_path))))
    mismatch = [w for w in hw.warnings if "does not match" in w]
    assert len(mismatch) == 1 and "torch==2.1.0" in mismatch[0]


def test_npu_without_cann_environment_warns_to_source_it(tmp_path):
    fakes = fake_torch_npu(fake_torch(tmp_path / "site", "2.1.0"), "2.1.0.post8", devices=8)
    hw = detect(environ=_env(tmp_path, PYTHONPATH=str(fakes)))
    assert hw.kind == "npu" and hw.cann is None
    assert any("ASCEND_TOOLKIT_HOME is not set" in w for w in hw.warnings)


def test_launch_env_defaults_and_user_values_win():
    hw = simulate("npu:8")
    env = launch_env(hw, {"HCCL_CONNECT_TIMEOUT": "300"}, socket_ifname="enp189s0f0", if_ip="10.0.0.5")
    assert env["ASCEND_RT_VISIBLE_DEVICES"] == "0,1,2,3,4,5,6,7"
    assert env["HCCL_CONNECT_TIMEOUT"] == "300"  # the user's own setting is kept
    assert env["HCCL_EXEC_TIMEOUT"] == "1800"
    assert env["PYTORCH_NPU_ALLOC_CONF"] == "expandable_segments:True"
    assert env["TASK_QUEUE_ENABLE"] == "1"
    assert (env["HCCL_SOCKET_IFNAME"], env["HCCL_IF_IP"]) == ("enp189s0f0", "10.0.0.5")
    cuda = launch_env(simulate("cuda:4"), {"NCCL_SOCKET_IFNAME": "ib0"})
    assert cuda["CUDA_VISIBLE_DEVICES"] == "0,1,2,3" and cuda["NCCL_SOCKET_IFNAME"] == "ib0"
    assert not any(k.startswith("HCCL") for k in cuda)
    assert launch_env(simulate("cpu:2"), {}) == {"CUDA_VISIBLE_DEVICES": "", "ASCEND_RT_VISIBLE_DEVICES": "", "DS_ACCELERATOR": "cpu",
                                                 "TORCH_DEVICE_BACKEND_AUTOLOAD": "0"}


def test_cpu_request_hides_every_accelerator_whatever_the_user_set():
    env = launch_env(simulate("cpu:2"), {"CUDA_VISIBLE_DEVICES": "0", "ASCEND_RT_VISIBLE_DEVICES": "0,1", "DS_ACCELERATOR": "cuda"})
    assert (env["CUDA_VISIBLE_DEVICES"], env["ASCEND_RT_VISIBLE_DEVICES"], env["DS_ACCELERATOR"]) == ("", "", "cpu")


def test_fewer_devices_than_visible_uses_the_first_of_the_users_list():
    assert launch_env(simulate("cuda:1"), {})["CUDA_VISIBLE_DEVICES"] == "0"
    assert launch_env(simulate("cuda:1"), {"CUDA_VISIBLE_DEVICES": "4,5,6,7"})["CUDA_VISIBLE_DEVICES"] == "4"
    assert launch_env(simulate("npu:2"), {"ASCEND_RT_VISIBLE_DEVICES": "6,7"})["ASCEND_RT_VISIBLE_DEVICES"] == "6,7"


def test_demo_trains_on_the_accelerator_doctor_finds_else_on_the_cpu(tmp_path, monkeypatch):
    from mathmind.demo import demo_hardware

    for var in [k for k in os.environ if k.startswith(("ASCEND", "CUDA_", "TORCH_DEVICE"))]:
        monkeypatch.delenv(var)
    assert demo_hardware() == ("cpu:2", 8)
    monkeypatch.setenv("PYTHONPATH", str(fake_torch(tmp_path / "site", "2.11.0+cu130", cuda_devices=1)))
    assert demo_hardware() == ("cuda:1", 16)


@pytest.mark.parametrize("spec", ["npu", "tpu:8", "npu:0", "npu:x"])
def test_bad_hardware_spec_is_a_user_error(spec):
    with pytest.raises(UserError, match="KIND:COUNT"):
        simulate(spec)


def test_launcher_prefers_openmind_on_npu_only_when_installed():
    npu = simulate("npu:8")
    assert pick_launcher(npu, which=lambda exe: f"/usr/bin/{exe}")[0] == "openmind"
    launcher, notes = pick_launcher(npu, which=lambda exe: "/usr/bin/torchrun" if exe == "torchrun" else None)
    assert launcher == "torchrun" and notes == ["openmind-cli not found on PATH"]
    assert pick_launcher(simulate("cuda:8"), which=lambda exe: f"/usr/bin/{exe}")[0] == "torchrun"


def test_doctor_json_on_this_machine(run_mathmind):
    proc = run_mathmind("doctor", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    hw = report["hardware"]
    assert (hw["kind"], hw["dist_backend"], hw["eval_device"]) == ("cpu", "gloo", "cpu")
    assert report["packages"]["openai"] and report["packages"]["torch"].startswith("2.13")
    assert report["launcher"] == "torchrun" and isinstance(report["warnings"], list)


def test_doctor_json_on_simulated_8x910b_through_fake_torch_npu(run_mathmind, tmp_path):
    fakes = fake_torch_npu(fake_torch(tmp_path / "site", "2.1.0"), "2.1.0.post8", devices=8)
    proc = run_mathmind("doctor", "--json", env={"PYTHONPATH": str(fakes), "ASCEND_TOOLKIT_HOME": str(cann_home(tmp_path))})
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    hw = report["hardware"]
    assert (hw["kind"], hw["count"], hw["dist_backend"]) == ("npu", 8, "hccl")
    assert (hw["visible_devices_env"], hw["eval_device"]) == ("ASCEND_RT_VISIBLE_DEVICES", "npu:0")
    assert report["launch_env"]["ASCEND_RT_VISIBLE_DEVICES"] == "0,1,2,3,4,5,6,7"
    assert any("openmind-cli not found" in w for w in report["warnings"])


def test_doctor_text_names_warnings(run_mathmind):
    proc = run_mathmind("doctor")
    assert proc.returncode == 0
    assert "backend      gloo" in proc.stdout and "warnings" in proc.stdout
