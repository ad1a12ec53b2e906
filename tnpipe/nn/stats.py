"""Whole-training-set batch-norm statistics for inference ([EEDN]: "At inference they come
from the whole training set").

Layer by layer, in order: with every earlier layer already fixed to its inference
statistics, run the whole training set up to layer i and set, per feature c,

    mu_c    = mean of s_c over all examples and positions
    sigma_c = sqrt(mean(s_c^2) - mu_c^2)          (standard deviation; float64 sums)

Doing it in order means each layer is normalised on the spike statistics it will actually
receive at inference (those of the fixed earlier layers), not on the batch-mode statistics
of training. The binary input of each layer is cached (as bool, on the CPU) so the whole set
is run through every layer twice (statistics, then spikes).
"""

from __future__ import annotations

import torch

from tnpipe.nn.network import EednNet


@torch.no_grad()
def set_full_set_statistics(model: EednNet, x: torch.Tensor, batch_size: int = 512, device: str = "cpu",
                            normalise=None, reduce=None) -> None:
    """Overwrite every SpikingBatchNorm's mean/std with whole-set statistics of `x`.

    `x` is the training input as the model takes it (float, NCHW, before normalisation);
    `normalise` optionally maps a CPU chunk to that form (e.g. uint8 NHWC -> float NCHW).
    `reduce(t)`: the sum of t over the ranks of a multi-node run, each passing its shard as
    `x` (every rank calls this, layer by layer in step); the statistics are the whole set's.
    """
    was_training = model.training
    model.eval()
    model.to(device)
    chunks = [x[i:i + batch_size] for i in range(0, len(x), batch_size)]
    current: list[torch.Tensor] = []  # input of the layer being fixed, per chunk
    for li, layer in enumerate(model.spiking_layers()):
        total = sq = None
        count = 0

        def layer_input(ci: int, chunk: torch.Tensor, li: int = li, current: list = current) -> torch.Tensor:
            if li == 0:
                c = normalise(chunk) if normalise is not None else chunk
                return model.normalise(c.to(device=device, dtype=torch.float32))
            return current[ci].to(device=device, dtype=torch.float32)

        for ci, chunk in enumerate(chunks):  # pass 1: the statistics
            s = layer.conv(layer_input(ci, chunk)).double()
            part, part_sq = s.sum(dim=(0, 2, 3)), s.square().sum(dim=(0, 2, 3))
            total = part if total is None else total + part
            sq = part_sq if sq is None else sq + part_sq
            count += s.shape[0] * s.shape[2] * s.shape[3]
        if reduce is not None:
            total, sq = reduce(total), reduce(sq)
            count = int(reduce(torch.tensor(float(count), dtype=torch.float64)).item())
        mu = total / count
        sigma = (sq / count - mu.square()).clamp_min(0.0).sqrt()
        layer.bn.mean.copy_(mu)
        layer.bn.std.copy_(sigma)
        # pass 2: this layer's spikes under the fixed statistics (the next layer's input);
        # recomputed rather than kept, so only bool spikes are ever held for the whole set
        current = [layer.bn(layer.conv(layer_input(ci, chunk))).bool().cpu() for ci, chunk in enumerate(chunks)]
    model.train(was_training)
