"""Checkpoints: written atomically (temp file + rename), read with weights_only=True."""

from __future__ import annotations

import errno
import io
import logging
import random
import warnings
import zipfile
from pathlib import Path

import numpy as np
import torch

from genlab.errors import CheckpointError, first_line
from genlab.storage.atomic import write_atomic

log = logging.getLogger(__name__)

FORMAT = "genlab-2"  # genlab-1 (genlab 0.1) named the networks "models"; it still loads


def save_checkpoint(path: Path, state: dict, rng: bool = True) -> None:
    """Write state (and, with rng, every RNG's state under "rng") to path, so that a crash
    mid-write leaves the previous file whole."""
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, **state, **({"rng": rng_state()} if rng else {})}, buffer)
    write_atomic(path, buffer.getvalue())


def load_checkpoint(path: Path) -> dict:
    """The state saved by save_checkpoint; CheckpointError (one line) for anything else."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        with warnings.catch_warnings():  # a foreign pickle's protocol warning is noise here
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch.load on arbitrary bytes raises nearly anything
        raise CheckpointError(f"{path} is not a readable genlab checkpoint ({_why(e)})") from None
    if not isinstance(state, dict) or state.get("format") not in (FORMAT, "genlab-1"):
        raise CheckpointError(f"{path} is not a genlab checkpoint (format {FORMAT} expected)")
    if state["format"] == "genlab-1" and "models" in state:
        state["networks"] = state.pop("models")
    return state


def _why(e: Exception) -> str:
    text = str(e).strip()
    if "Weights only load failed" in text:
        return "it holds Python objects, not only tensors; they are not loaded, for safety"
    if isinstance(e, PermissionError):
        return "permission denied"
    cut = isinstance(e, OSError) and e.errno == errno.EINVAL  # a seek past the end of the file
    if cut or isinstance(e, EOFError | zipfile.BadZipFile) or "zip archive" in text:
        return "truncated or empty: was a write or a copy cut short?"
    return f"not a file torch.save wrote; {type(e).__name__}: {first_line(e, 80)}"


def rng_state() -> dict:
    """Every RNG a run draws from: torch (CPU, each CUDA GPU, Apple's MPS), numpy and python."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    mps = torch.backends.mps.is_available()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        **({"mps": torch.mps.get_rng_state()} if mps else {}),
        "numpy": {
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": pos,
            "has_gauss": has_gauss,
            "gauss": gauss,
        },
        "python": random.getstate(),
    }


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    set_cuda_rng_states(state["cuda"])
    if "mps" in state and torch.backends.mps.is_available():  # saved on a Mac, resumed on one
        torch.mps.set_rng_state(state["mps"])
    n = state["numpy"]
    np.random.set_state(
        ("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"])
    )
    random.setstate(state["python"])


def set_cuda_rng_states(saved: list) -> None:
    """Restores the saved CUDA RNG states of the GPUs this process also sees (the first
    min(saved, visible)); a resume on fewer or more GPUs, or on none, says so in one line."""
    if not saved:  # saved without a GPU: the GPUs here keep their seeded state
        return
    visible = torch.cuda.device_count() if torch.cuda.is_available() else 0
    restored = min(len(saved), visible)
    if restored != len(saved) or restored != visible:
        gpus = "GPU" if len(saved) == 1 else "GPUs"
        log.warning(
            f"checkpoint saved CUDA RNG states for {len(saved)} {gpus}, {visible} visible: "
            f"restored {restored}"
        )
    if restored:
        torch.cuda.set_rng_state_all(saved[:restored])
