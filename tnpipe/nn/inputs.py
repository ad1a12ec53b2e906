"""PreparedDataset arrays -> the float NCHW tensors the transduction layer takes.

Images are stored uint8 NHWC and become x/255 in NCHW; speech features are stored float16
NCHW and become float32. The per-channel mean/std normalisation that follows is part of the
network (EednNet.in_mean/in_std, from the training split) so checkpoints carry it.
"""

from __future__ import annotations

import numpy as np
import torch

from tnpipe.errors import ArtifactError


def to_float_nchw(x: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 (N, H, W, C) images -> float32 (N, C, H, W) in [0, 1]; float features -> float32."""
    t = torch.as_tensor(np.asarray(x)) if not isinstance(x, torch.Tensor) else x
    if t.ndim != 4:
        raise ArtifactError(f"network input has shape {tuple(t.shape)}; expected 4 dimensions")
    if t.dtype == torch.uint8:
        return t.permute(0, 3, 1, 2).to(torch.float32).div_(255.0).contiguous()
    return t.to(torch.float32)


def channel_stats(x: torch.Tensor, reduce=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and std over (N, H, W) as (1, C, 1, 1); a constant channel gets std 1.

    `reduce(t)`: the sum of t over the ranks of a multi-node run, each holding only its shard of
    the training set (tnpipe.train.distributed); the statistics are then the whole set's."""
    x64 = x.double()
    if reduce is None:
        mean = x64.mean(dim=(0, 2, 3), keepdim=True)
        std = x64.std(dim=(0, 2, 3), keepdim=True, unbiased=False)
    else:
        count = reduce(torch.tensor(float(x64.numel() // max(x64.shape[1], 1)), dtype=torch.float64))
        mean = reduce(x64.sum(dim=(0, 2, 3), keepdim=True)) / count
        std = (reduce((x64 - mean).square().sum(dim=(0, 2, 3), keepdim=True)) / count).sqrt()
    std = torch.where(std > 1e-8, std, torch.ones_like(std))
    return mean.float(), std.float()
