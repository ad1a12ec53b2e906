"""[train] section of a recipe: every training setting, with the reason for its value.

Values the paper gives are marked [EEDN]; values it leaves open are chosen here and
explained in the recipes' comments.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TrainCfg:
    epochs: int = 10
    batch_size: int = 64
    lr: float = 0.1
    momentum: float = 0.9                         # [EEDN]
    lr_drops: list[float] = field(default_factory=lambda: [0.5, 0.75])  # fractions of training where lr /= 10 [EEDN: twice]
    weight_decay: float = 0.0                     # [EEDN] 1e-7, only for networks of 4+ chips
    sparsity_gamma: float = 0.0                   # [EEDN] 1e-4 for networks above half a chip
    hysteresis: float = 0.1                       # [EEDN] trinary rounding dead band h
    dropout: float = 0.5                          # rate for 'D' tokens
    seed: int = 0
