"""Device choice for the notebooks and tests.

The book runs on a laptop CPU, in CI and on a reader's GPU. Random numbers are
always drawn on the CPU (seeded ``torch.Generator``) and then moved, so the
device never changes what a notebook prints.
"""

from __future__ import annotations

import os

import torch

ENV_VAR = "LLMLOSS_DEVICE"


def default_device() -> torch.device:
    """CUDA when available, else the CPU; ``$LLMLOSS_DEVICE`` overrides both.

    Raises ``ValueError`` naming ``LLMLOSS_DEVICE`` when the variable asks for
    a device that PyTorch does not know or that is not present.
    """
    requested = os.environ.get(ENV_VAR, "").strip()
    if not requested:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(requested)
    except RuntimeError as err:
        raise ValueError(f"{ENV_VAR}={requested!r} is not a device name: {err}") from None
    available = {
        "cpu": True,
        "cuda": torch.cuda.is_available(),
        "mps": torch.backends.mps.is_available(),
    }
    if not available.get(device.type, False):
        raise ValueError(f"{ENV_VAR}={requested!r}: no {device.type} device is available here")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ValueError(f"{ENV_VAR}={requested!r}: only {torch.cuda.device_count()} CUDA device(s) present")
    return device


def cpu_generator(seed: int) -> torch.Generator:
    """A seeded CPU generator: draw with it, then move the tensor to the device."""
    return torch.Generator(device="cpu").manual_seed(seed)
