"""Which device a job runs on and the fast paths that device runs well: device=auto's order
(cuda, then mps, then cpu), a GPU's fast paths by its compute capability, a CPU's by the
instructions it has, and the one-line refusal of a fast path the device lacks. The rules are
pure functions of the device's properties (tested without a GPU); the functions that ask torch
import it when called, as the resolvers in config/__init__.py run while the configs compose."""

from __future__ import annotations

from genlab.errors import ConfigError

TENSOR_CORES = (7, 0)  # Volta: fp16 tensor cores; Triton's minimum (torch.compile on a GPU)
BF16_CORES = (8, 0)  # Ampere: bf16 tensor cores; older GPUs emulate bf16, slower than float32


def cuda_fast_paths(capability: tuple[int, int] | None) -> dict:
    """device=cuda's fast paths on a GPU of this compute capability; None (no GPU to ask, as on a
    login node composing a job) gives the newest GPUs' paths."""
    capability = tuple(capability or BF16_CORES)
    tensor_cores = capability >= TENSOR_CORES
    if capability >= BF16_CORES:
        precision = "bf16"
    else:  # fp16 needs the gradient scaler, and below tensor cores it is no faster than float32
        precision = "fp16" if tensor_cores else 32
    return {
        "precision": precision,
        "compile": tensor_cores,
        "channels_last": tensor_cores,  # NHWC is the layout tensor-core convolutions read
        "optimizer_impl": "fused",
    }


def cpu_fast_paths(capabilities: dict) -> dict:
    """device=cpu's fast paths on a CPU with these features (torch.cpu.get_capabilities()'s keys).

    bf16 autocast only where the CPU computes bf16 itself (AVX512-BF16 or AMX-BF16, which oneDNN's
    bf16 matmuls and convolutions use): 1.2-1.4x float32's steps there, while on an AVX-512 CPU
    without them bf16 is emulated at 0.16-0.25x (docs/results.md). channels_last for the CNNs on
    AVX-512 CPUs, where oneDNN's NHWC convolutions were faster on the CPU measured; elsewhere
    unmeasured, so off. torch.compile stays off: on the CPU it never paid back its compile time
    inside a run.
    """
    native_bf16 = bool(capabilities.get("avx512_bf16") or capabilities.get("amx_bf16"))
    return {
        "precision": "bf16" if native_bf16 else 32,
        "compile": False,
        "channels_last": bool(capabilities.get("avx512_f")),
        "optimizer_impl": "fused",
    }


def cpu_capabilities() -> dict:
    """The instruction sets torch's cpuinfo reports for this CPU ({} from a torch without
    torch.cpu.get_capabilities, whose CPUs then run float32)."""
    import torch

    ask = getattr(torch.cpu, "get_capabilities", None)
    try:
        return dict(ask()) if ask else {}
    except RuntimeError:  # cpuinfo could not read this CPU
        return {}


def mps_fast_paths(fused_adam: bool) -> dict:
    """device=mps's fast paths: float32 and eager, as autocast and Inductor on MPS depend on the
    torch and macOS versions; fused Adam where this torch has it for MPS."""
    return {
        "precision": 32,
        "compile": False,
        "channels_last": False,
        "optimizer_impl": "fused" if fused_adam else "plain",
    }


def refuse_missing(
    fast: dict, device_type: str, capability: tuple[int, int] | None, fused_adam: bool
) -> None:
    """ConfigError (one line) for a fast path this device lacks: set on the command line, or saved
    by a run resumed on another device. capability: the GPU's (cuda only); fused_adam: whether
    this torch has fused Adam for the device."""
    if device_type == "cuda" and capability is not None:
        capability = tuple(capability)
        has = f"this one has {capability[0]}.{capability[1]}"
        mine = "or device=auto for this GPU's own fast paths"  # a resume may change device
        if str(fast["precision"]) == "bf16" and capability < BF16_CORES:
            raise ConfigError(
                f"device.precision=bf16 needs a GPU of compute capability 8.0 or newer ({has}); "
                f"choose device.precision={cuda_fast_paths(capability)['precision']}, {mine}"
            )
        if fast["compile"] and capability < TENSOR_CORES:
            raise ConfigError(
                "device.compile=true needs a GPU of compute capability 7.0 or newer (Triton's "
                f"minimum; {has}); choose device.compile=false, {mine}"
            )
    if fast["optimizer_impl"] == "fused" and not fused_adam:
        raise ConfigError(
            f"device.optimizer_impl=fused: this torch has no fused Adam for {device_type}; "
            "choose device.optimizer_impl=plain or foreach"
        )


def visible() -> str:
    """The device device=auto picks: cuda when this process sees a GPU, then mps, then cpu."""
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def visible_capability() -> tuple[int, int] | None:
    """The compute capability of the GPU this process uses; None when there is none to ask."""
    import torch

    if not torch.cuda.is_available():
        return None
    try:
        return tuple(torch.cuda.get_device_capability())
    except (RuntimeError, AssertionError):  # a driver that does not answer: still composes
        return None


def fused_adam(device_type: str) -> bool:
    """Whether this torch has fused Adam kernels for the device type (MPS's only in newer torch)."""
    try:
        from torch.utils._foreach_utils import _get_fused_kernels_supported_devices
    except ImportError:  # a torch older than the list: fused Adam was CUDA's only
        return device_type == "cuda"
    return device_type in _get_fused_kernels_supported_devices()


def fast_path(device_type: str, key: str):
    """KEY of the fast paths of this process's cuda, mps or cpu device (the ${genlab.cuda:KEY},
    ${genlab.mps:KEY} and ${genlab.cpu:KEY} of conf/device/)."""
    if device_type == "cpu":
        return cpu_fast_paths(cpu_capabilities())[key]
    if device_type == "cuda":
        return cuda_fast_paths(visible_capability())[key]
    return mps_fast_paths(fused_adam("mps"))[key]
