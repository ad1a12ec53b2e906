"""[train] section of a recipe: every training setting, with the reason for its value.

Values the paper gives are marked [EEDN]; values it leaves open are chosen here and
explained in the recipes' comments. `validate()` refuses impossible values with one line.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from tnpipe.errors import RecipeError
from tnpipe.nn.precision import PRECISIONS
from tnpipe.settings import check_values, overrides_for

OPTIMIZERS = ("sgd", "adam")
SCHEDULES = ("step", "cosine")
BN_STATS = ("full", "running")
AUGMENT = ("none", "flip", "flipcrop")


@dataclass
class TrainCfg:
    epochs: int = 10
    batch_size: int = 64
    lr: float = 0.1
    momentum: float = 0.9                         # [EEDN] (SGD); Adam uses it as beta1
    lr_drops: list[float] = field(default_factory=lambda: [0.5, 0.75])  # fractions of training where lr /= 10 [EEDN: twice]
    weight_decay: float = 0.0                     # [EEDN] 1e-7, only for networks of 4+ chips
    bias_lr_scale: float = 1.0                    # the thresholds' (BN biases') learning rate / lr. Not in the
                                                  # paper: with SGD at its lr 20 the biases need 0.1 (recipes)
    sparsity_gamma: float = 0.0                   # [EEDN] 1e-4 for networks above half a chip
    hysteresis: float = 0.1                       # [EEDN] trinary rounding dead band h
    dropout: float = 0.5                          # rate for 'D' tokens
    seed: int = 0
    # --- choices the paper leaves open (see recipes for the reasons) ---
    optimizer: str = "sgd"                        # "sgd" (the paper's, momentum) or "adam"
    schedule: str = "step"                        # "step": lr /= 10 at each lr_drops fraction [EEDN]; "cosine"
    vote_scale: float = 8.0                       # loss = cross-entropy(votes * vote_scale / mean class population)
    init_scale: float = 1.0                       # hidden weights ~ U(-init_scale, init_scale)
    bn_momentum: float = 0.1                      # running averages, used only for per-epoch test numbers
    bn_stats: str = "full"                        # inference mu/sigma: "full" training set [EEDN] or "running"
    augment: str = "none"                         # [EEDN] none; "flip", "flipcrop" (images only)
    eval_batch_size: int = 512
    threads: int = 0                              # torch CPU threads; 0 = torch's default
    precision: str = "auto"                       # on-chip convolutions in training, all exact in the forward:
                                                  # "fp32"; "bf16" (bf16 backward too); "bf16_fwd", "int8"
                                                  # (fp32 backward); "fp8" (an experiment for fp8 GPUs);
                                                  # "auto" = per layer shape the fastest of fp32 / bf16_fwd /
                                                  # int8, measured on this machine (tnpipe/nn/probe.py);
                                                  # "auto_bf16": bf16 among them too (opt-in)
    time_budget_min: float = 0.0                  # > 0: anneal by wall clock and stop when spent
                                                  # (CPU benchmark; not bit-reproducible)
    # per-network settings, e.g. [train.per_network.tiny] epochs = 6: the tiny demo net and
    # the 8-chip net of one recipe need different schedules. Precedence: [train] <
    # per_network.NAME < --set train.KEY=VALUE.
    per_network: dict = field(default_factory=dict)
    # a network named for a chip budget (half, 1chip, Nchip) that needs more cores than its
    # name allows is refused before training (tnpipe/chip/budget.py) unless this is true
    allow_over_budget: bool = False

    def for_network(self, name: str, overrides: list[str] | tuple[str, ...] = (), where: str = "[train]") -> TrainCfg:
        """The settings network `name` trains with: per_network[name] applied, then the
        command line's `--set train.KEY=VALUE` again on top (they always win)."""
        values = dataclasses.asdict(self)
        own = dict(self.per_network.get(name, {}))
        check_values(TrainCfg, own, f"{where}.per_network.{name}", skip=("per_network",))
        values.update(own)
        values.update(overrides_for("train", overrides))
        return TrainCfg(**values)

    def validate(self, where: str = "[train]") -> None:
        for name, value, allowed in (("optimizer", self.optimizer, OPTIMIZERS), ("schedule", self.schedule, SCHEDULES),
                                     ("bn_stats", self.bn_stats, BN_STATS), ("augment", self.augment, AUGMENT),
                                     ("precision", self.precision, PRECISIONS)):
            if value not in allowed:
                raise RecipeError(f"{where}.{name}: {value!r} is not one of {', '.join(allowed)}")
        for name in ("epochs", "batch_size", "eval_batch_size"):
            if getattr(self, name) < 1:
                raise RecipeError(f"{where}.{name}: {getattr(self, name)} must be >= 1")
        if not 0.0 <= self.dropout < 1.0:
            raise RecipeError(f"{where}.dropout: {self.dropout} must be in [0, 1)")
        if not 0.0 <= self.hysteresis < 0.5:
            raise RecipeError(f"{where}.hysteresis: {self.hysteresis} must be in [0, 0.5)")
        if not self.bias_lr_scale > 0:
            raise RecipeError(f"{where}.bias_lr_scale: {self.bias_lr_scale} must be > 0 (the biases' lr = lr x this)")
        if self.time_budget_min < 0:
            raise RecipeError(f"{where}.time_budget_min: {self.time_budget_min} must be >= 0 (0 = no budget)")
        self._check_numbers(where)
        if any(not 0.0 < f < 1.0 for f in self.lr_drops):
            raise RecipeError(f"{where}.lr_drops: {self.lr_drops} must be fractions of training in (0, 1)")

    # (field, lowest, highest, lowest allowed itself): every number the optimiser and the loss
    # read, so a bad --set is refused in one line before an earlier run is moved aside
    RANGES = (("lr", 0.0, math.inf, False), ("momentum", 0.0, 1.0, True), ("weight_decay", 0.0, math.inf, True),
              ("sparsity_gamma", 0.0, math.inf, True), ("vote_scale", 0.0, math.inf, False),
              ("init_scale", 0.0, math.inf, False), ("bn_momentum", 0.0, 1.0, False),
              ("threads", 0, 4096, True), ("seed", 0, 2**32 - 1, True), ("time_budget_min", 0.0, math.inf, True))

    def _check_numbers(self, where: str) -> None:
        for name, lo, hi, lo_ok in self.RANGES:
            v = getattr(self, name)
            ok = math.isfinite(v) and (v >= lo if lo_ok else v > lo) and v <= hi
            if name == "momentum":
                ok = ok and v < 1.0
            if not ok:
                low = f">= {lo}" if lo_ok else f"> {lo}"
                high = "" if hi == math.inf else f" and {'<' if name == 'momentum' else '<='} {hi}"
                raise RecipeError(f"{where}.{name}: {v!r} must be a finite number {low}{high}")
        if any(not math.isfinite(f) for f in self.lr_drops):
            raise RecipeError(f"{where}.lr_drops: {self.lr_drops} must be fractions of training in (0, 1)")
