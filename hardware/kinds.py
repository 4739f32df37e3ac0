"""What mathmind knows about each kind of device: one registry entry per kind, no if-chains elsewhere."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class DeviceKind:
    name: str                       # "npu" | "cuda" | "cpu": also torch's attribute (torch.npu, torch.cuda)
    dist_backend: str               # torch.distributed backend
    visible_devices_env: str | None  # the variable that selects devices for a launched process
    env_defaults: dict[str, str]    # set for launched processes unless the user's environment has them
    socket_ifname_env: str | None   # which variable names the network interface for collectives
    if_ip_env: str | None           # which variable names the host IP for collectives
    launchers: tuple[str, ...]      # preferred launchers, best first (see mathmind.launch)
    eval_device_pattern: str = "{name}:0"  # lm-eval's HFLM device; a bare "npu" silently falls back to CPU
    runtime_modules: tuple[str, ...] = ()  # imported in a training process before torch touches the device
    trainer_args: dict[str, object] = field(default_factory=dict)  # TrainingArguments this kind needs
    slurm_gres: str | None = None          # generic resource name in sbatch scripts (--gres=NAME:COUNT)
    # Attention kernels that run packed (padding-free) batches per sample without a dense mask, best first:
    # (transformers attn_implementation, the module that must be importable for it).
    varlen_attention: tuple[tuple[str, str], ...] = ()
    fused_kernels: str | None = None       # the kernel library that fuses RMSNorm/SwiGLU/RoPE here, when installed
    # Set for launched processes whatever the user's environment says (a CPU run must not touch an accelerator).
    forced_env: dict[str, str] = field(default_factory=dict)
    hides_accelerators: bool = False       # launched processes see no device of the other kinds
    notes: tuple[str, ...] = field(default=())


# Order matters: detection picks the first kind that has devices.
KINDS: dict[str, DeviceKind] = {
    "npu": DeviceKind(
        name="npu",
        dist_backend="hccl",
        visible_devices_env="ASCEND_RT_VISIBLE_DEVICES",
        env_defaults={
            # HCCL's own default (120 s) is shorter than loading a 7B+ checkpoint on 8 cards takes
            # before the first collective; 1200 s is Ascend's advice for large jobs.
            "HCCL_CONNECT_TIMEOUT": "1200",
            "HCCL_EXEC_TIMEOUT": "1800",
            # Fewer out-of-memory stops from fragmentation on long, variable-length CoT batches.
            "PYTORCH_NPU_ALLOC_CONF": "expandable_segments:True",
            # Queue operator dispatch asynchronously (level 1 is safe on every torch_npu 2.x).
            "TASK_QUEUE_ENABLE": "1",
        },
        socket_ifname_env="HCCL_SOCKET_IFNAME",
        if_ip_env="HCCL_IF_IP",
        launchers=("openmind", "llamafactory", "torchrun"),
        runtime_modules=("torch_npu",),
        slurm_gres="npu",
        # transformers routes flash_attention_2 to torch_npu.npu_fusion_attention (varlen) on Ascend.
        varlen_attention=(("flash_attention_2", "torch_npu"),),
    ),
    "cuda": DeviceKind(
        name="cuda",
        dist_backend="nccl",
        visible_devices_env="CUDA_VISIBLE_DEVICES",
        env_defaults={
            "TORCH_NCCL_ASYNC_ERROR_HANDLING": "1",
            "PYTORCH_CUDA_ALLOC_CONF": "expandable_segments:True",
        },
        socket_ifname_env="NCCL_SOCKET_IFNAME",
        if_ip_env=None,
        launchers=("torchrun",),
        slurm_gres="gpu",
        varlen_attention=(("flash_attention_2", "flash_attn"),),
        fused_kernels="liger_kernel",   # Triton kernels: CUDA (and ROCm) only
    ),
    "cpu": DeviceKind(
        name="cpu",
        dist_backend="gloo",
        visible_devices_env=None,
        env_defaults={},
        socket_ifname_env="GLOO_SOCKET_IFNAME",
        if_ip_env=None,
        launchers=("torchrun",),
        eval_device_pattern="cpu",
        # The other kinds' visible-devices variables are set empty (see env.py), and DeepSpeed, which picks
        # CUDA/NPU by itself when it sees one, is told: otherwise rank 1 of `cpu:2` on a 1-GPU machine dies
        # with "invalid device ordinal".
        hides_accelerators=True,
        # torch would otherwise import torch_npu by itself (backend autoload) on an Ascend machine.
        forced_env={"DS_ACCELERATOR": "cpu", "TORCH_DEVICE_BACKEND_AUTOLOAD": "0"},
        # TrainingArguments would otherwise look for an accelerator; bf16 autocast on CPU is slow.
        trainer_args={"use_cpu": True},
    ),
}
