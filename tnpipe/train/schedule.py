"""The optimiser, the learning-rate schedule, the vote loss and the data augmentation."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from tnpipe.nn.network import EednNet
from tnpipe.nn.train_section import TrainCfg


def lr_at(cfg: TrainCfg, step: int, total: int, time_frac: float = 0.0) -> float:
    """'step': lr / 10^(drops passed) [EEDN: dropped 10x twice]; 'cosine': half a cosine.

    Progress is the share of steps done, or, with a wall-clock budget, the share of the
    budget spent if that is larger (so the schedule completes when the budget does)."""
    frac = min(1.0, max(step / max(total, 1), time_frac))
    if cfg.schedule == "cosine":
        return cfg.lr * 0.5 * (1.0 + math.cos(math.pi * frac))
    return cfg.lr * 0.1 ** sum(frac >= f for f in cfg.lr_drops)


def loss_fn(votes: torch.Tensor, y: torch.Tensor, scale: float) -> torch.Tensor:
    """Cross-entropy on the votes, scaled so a class whose whole population fires has logit
    `vote_scale` (spike counts are 0..population: unscaled they saturate the softmax)."""
    return F.cross_entropy(votes * scale, y)


def make_optimizer(model: EednNet, cfg: TrainCfg) -> torch.optim.Optimizer:
    """Weight decay (EEDN: 4+ chip networks only) applies to weights, never to the biases.
    Each group's `lr_scale` multiplies the scheduled lr (`set_lr`): the biases train at
    lr x bias_lr_scale."""
    weights = [model.transduction.conv.weight] + [layer.conv.hidden for layer in model.chip]
    biases = [layer.bn.bias for layer in model.spiking_layers()]
    groups = [{"params": weights, "weight_decay": cfg.weight_decay, "lr_scale": 1.0},
              {"params": biases, "weight_decay": 0.0, "lr_scale": cfg.bias_lr_scale, "lr": cfg.lr * cfg.bias_lr_scale}]
    if cfg.optimizer == "adam":
        return torch.optim.Adam(groups, lr=cfg.lr, betas=(cfg.momentum, 0.999))
    return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum)


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """The schedule's lr for this step, times each group's own lr_scale."""
    for group in optimizer.param_groups:
        group["lr"] = lr * group.get("lr_scale", 1.0)


def augment(x: torch.Tensor, kind: str, gen: torch.Generator) -> torch.Tensor:
    """Random horizontal flips, and for 'flipcrop' shifts of up to 4 pixels (zero padded)."""
    if kind == "none":
        return x
    n, c, h, w = x.shape
    flip = torch.rand(n, generator=gen) < 0.5
    x = torch.where(flip.to(x.device).view(n, 1, 1, 1), x.flip(3), x)
    if kind == "flipcrop":
        pad = 4
        dy = torch.randint(0, 2 * pad + 1, (n,), generator=gen).to(x.device)
        dx = torch.randint(0, 2 * pad + 1, (n,), generator=gen).to(x.device)
        xp = F.pad(x, (pad, pad, pad, pad))
        rows = (torch.arange(h, device=x.device).view(1, h) + dy.view(n, 1)).view(n, 1, h, 1)
        cols = (torch.arange(w, device=x.device).view(1, w) + dx.view(n, 1)).view(n, 1, 1, w)
        x = xp[torch.arange(n, device=x.device).view(n, 1, 1, 1), torch.arange(c, device=x.device).view(1, c, 1, 1),
               rows, cols]
    return x


@torch.no_grad()
def evaluate(model: EednNet, x: torch.Tensor, y: torch.Tensor, batch_size: int) -> float:
    """Float-graph accuracy in inference mode (the BN buffers as they stand)."""
    was = model.training
    model.eval()
    correct = 0
    for i in range(0, len(x), batch_size):
        correct += int((model(x[i:i + batch_size]).argmax(1) == y[i:i + batch_size]).sum())
    model.train(was)
    return correct / max(len(x), 1)
