"""Network builder: a parsed Eedn string (tnpipe.netspec) -> a torch module.

    input x (normalised) -> transduction: RealConv -> SpikingBatchNorm (spikes, off-chip)
                         -> for each on-chip layer: [Dropout] -> TrinaryConv -> SpikingBatchNorm
                         -> VoteReadout -> votes (N, classes)

Geometry and the TrueNorth limits (fan-in <= 128, <= 256 features per group) are checked by
`parse_network`, which raises a one-line NetworkSpecError naming the layer.
"""

from __future__ import annotations

import torch
from torch import nn

from tnpipe.artifacts import default_class_of_feature
from tnpipe.errors import TrainingError
from tnpipe.netspec import NetworkSpec, parse_network
from tnpipe.nn import fp8
from tnpipe.nn import precision as precision_
from tnpipe.nn.layers import HYSTERESIS, RealConv, SpikingBatchNorm, TrinaryConv, VoteReadout


class EednLayer(nn.Module):
    """conv -> batch norm without scale -> binary spike (one row of Eedn's Table 1)."""

    def __init__(self, conv: nn.Module, features: int, dropout: float):
        super().__init__()
        self.dropout = nn.Dropout(dropout) if dropout > 0 else None
        self.conv = conv
        self.bn = SpikingBatchNorm(features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.dropout is not None:
            x = self.dropout(x)
        return self.bn(self.conv(x))


class EednNet(nn.Module):
    """The trainable network; `forward(x)` returns class votes (N, classes).

    After a forward in training mode with `track_rates` set, `self.rates` holds every spiking
    layer's per-feature mean spike rate (for the sparsity penalty; one extra pass per layer,
    so it is off unless asked for). Input normalisation (x - in_mean)/in_std
    is part of the transduction step and lives in buffers, so checkpoints carry it.
    """

    def __init__(self, spec: NetworkSpec, dropout: float = 0.5, hysteresis: float = HYSTERESIS,
                 init_scale: float = 1.0, class_of_feature: torch.Tensor | None = None):
        super().__init__()
        self.spec = spec
        c_in = spec.input_shape[0]
        self.register_buffer("in_mean", torch.zeros(1, c_in, 1, 1))
        self.register_buffer("in_std", torch.ones(1, c_in, 1, 1))
        t = spec.transduction
        self.transduction = EednLayer(RealConv(t.in_channels, t.out_channels, t.kernel, t.stride, t.padding),
                                      t.out_channels, 0.0)
        self.chip = nn.ModuleList(
            EednLayer(TrinaryConv(ls.in_channels, ls.out_channels, ls.kernel, ls.stride, ls.padding, ls.groups,
                                  hysteresis, init_scale),
                      ls.out_channels, dropout if ls.dropout_before else 0.0)
            for ls in spec.chip_layers
        )
        if class_of_feature is None:
            class_of_feature = torch.from_numpy(default_class_of_feature(spec.layers[-1].out_channels, spec.num_classes))
        self.readout = VoteReadout(class_of_feature, spec.num_classes)
        self.rates: list[torch.Tensor] = []
        self.track_rates = False

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        """(x - mean) / std per input channel (training-split statistics), channels-last.

        Channels-last: the CPU (oneDNN) and GPU convolutions run ~1.5x faster on it, and the
        per-feature batch-norm sums become contiguous reductions; values are unchanged."""
        return ((x + (-self.in_mean)) / self.in_std).contiguous(memory_format=torch.channels_last)

    def transduce(self, x: torch.Tensor) -> torch.Tensor:
        """Multi-bit input (N, C, H, W) float -> binary spikes, the chip's input."""
        y = self.transduction(self.normalise(x))
        if self.training and self.track_rates:
            self.rates.append(y.mean(dim=(0, 2, 3)))
        return y

    def chip_forward(self, spikes: torch.Tensor) -> torch.Tensor:
        """Transduction spikes -> last layer's spikes (the float graph of the on-chip part)."""
        y = spikes
        for layer in self.chip:
            y = layer(y)
            if self.training and self.track_rates:
                self.rates.append(y.mean(dim=(0, 2, 3)))
        return y

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.rates = []
        return self.readout(self.chip_forward(self.transduce(x)))

    @torch.no_grad()
    def update_trinary(self) -> None:
        """After every optimiser step: clip hidden weights and re-round with hysteresis."""
        for layer in self.chip:
            layer.conv.update_trinary()

    def set_precision(self, precision: str, device: str | torch.device = "cpu", choice=None) -> str:
        """Operand precision of the on-chip convolutions in training ('fp32' | 'bf16' | 'bf16_fwd' |
        'int8' | 'fp8' | 'auto' | 'auto_bf16', see tnpipe.nn.precision); -> the setting as run
        ('auto (fp32 x9, int8 x6)' for auto). 'auto' runs the probe (tnpipe.nn.probe, cached) unless `choice`, a
        PrecisionChoice made for this network (e.g. broadcast from rank 0), is given. The
        transduction layer, hidden weights and batch norm stay fp32; inference is unaffected."""
        precision_.check(precision)
        auto = precision in precision_.AUTO
        if auto:
            if choice is None:
                from tnpipe.nn import probe

                choice = probe.choose(self.spec, 64, str(device), setting=precision)
            per_layer = choice.per_layer
        else:
            self._refuse_missing(precision, device)
            per_layer = [precision] * len(self.chip)
        if len(per_layer) != len(self.chip):
            raise TrainingError(f"precision choice names {len(per_layer)} layers; the network has {len(self.chip)}")
        for layer, arithmetic in zip(self.chip, per_layer, strict=True):
            layer.conv.set_arithmetic(arithmetic)
        return choice.summary() if auto else precision

    @staticmethod
    def _refuse_missing(precision: str, device) -> None:
        if precision == "fp8" and not fp8.supported(device):
            raise TrainingError(f"train.precision = 'fp8': {device} has no fp8 products (they need a CUDA GPU of "
                                "compute capability >= 8.9, or on CPU a newer torch); use bf16 or auto")
        if precision == "int8" and (str(device) != "cpu" or not precision_.int8_supported()):
            raise TrainingError(f"train.precision = 'int8': {device} has no int8 products here (torch._int_mm "
                                "on CPU, torch >= 2.4); use fp32, bf16 or auto")

    def arithmetics(self) -> list[str]:
        """The arithmetic each on-chip layer trains in now."""
        return [layer.conv.arithmetic for layer in self.chip]

    def spiking_layers(self) -> list[EednLayer]:
        return [self.transduction, *self.chip]


def build_network(text: str, input_shape: tuple[int, int, int], num_classes: int, dropout: float = 0.5,
                  hysteresis: float = HYSTERESIS, init_scale: float = 1.0) -> EednNet:
    """Parse (and check) an Eedn string, then build the module."""
    spec = parse_network(text, input_shape, num_classes)
    return EednNet(spec, dropout=dropout, hysteresis=hysteresis, init_scale=init_scale)
