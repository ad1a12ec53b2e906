"""What every command shares: option checks at the command line (before any work starts)
and the hint for an unknown option that is really a recipe setting (`--epochs`)."""

from __future__ import annotations

import math

import typer
from typer.core import TyperCommand, TyperGroup

try:   # typer >= 0.20 carries its own copy of click; older versions use click itself
    from typer._click.exceptions import NoSuchOption
except ImportError:  # pragma: no cover
    from click.exceptions import NoSuchOption

DEVICE_HELP = "cpu, cuda or cuda:N"


def check_device(value: str | None) -> str | None:
    """--device: cpu, cuda or cuda:N (refused at the command line, exit 2)."""
    if value is None or value in ("cpu", "cuda"):
        return value
    if value.startswith("cuda:") and value[5:].isdigit():
        return value
    raise typer.BadParameter(f"{value!r}: expected {DEVICE_HELP}")


def require_device(device: str) -> None:
    """The device asked for is on this machine: one line, the same in every command, before
    any work (torch is imported only when CUDA is asked for)."""
    if not device.startswith("cuda"):
        return
    import torch

    from tnpipe.errors import TnpipeError

    n = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if n == 0:
        raise TnpipeError(f"--device {device}: CUDA is not available on this machine; use --device cpu")
    index = int(device[5:]) if device.startswith("cuda:") else 0
    if index >= n:
        raise TnpipeError(f"--device {device}: this machine has {n} CUDA device(s), cuda:0..cuda:{n - 1}; "
                          "use one of those or --device cpu")


def check_rate(value: float | None) -> float | None:
    """A float option that must be finite and >= 0 ('nan' and 'inf' parse as floats)."""
    if value is not None and not (math.isfinite(value) and value >= 0):
        raise typer.BadParameter(f"{value!r}: expected a finite number >= 0")
    return value


def setting_hint(option: str) -> str:
    """'--epochs' -> the --set form when it names a recipe setting, else ''."""
    from tnpipe.chip.config import ChipCfg
    from tnpipe.data.config import DataCfg
    from tnpipe.nn.train_section import TrainCfg

    key = option.lstrip("-").replace("-", "_")
    for section, cls in (("train", TrainCfg), ("chip", ChipCfg), ("data", DataCfg)):
        if key in cls.__dataclass_fields__:
            return f"recipe settings are set with --set, e.g. --set {section}.{key}=VALUE"
    return ""


def _plain_flags(params: list) -> list:
    """An on/off flag takes no value: no `<bool>` beside it in --help (it read as `--resume true`)."""
    for p in params:
        if getattr(p, "is_flag", False):
            p.metavar = ""
    return params


def _one_line_paragraphs(text: str | None) -> str | None:
    """A docstring's paragraphs, each joined into one line, so that --help rewraps them to the
    terminal instead of breaking at the source's line ends ("keeping the last / epoch's ...")."""
    if not text:
        return text
    import inspect

    return "\n\n".join(" ".join(p.split()) for p in inspect.cleandoc(text).split("\n\n"))


class Group(TyperGroup):
    """The top-level command group: flags shown without `<bool>`."""

    def get_params(self, ctx):
        return _plain_flags(super().get_params(ctx))


class Command(TyperCommand):
    """A Typer command whose unknown-option error names the --set form of a recipe setting
    (click itself suggests close option names: --netwrk -> --network); flags shown without
    `<bool>`, help paragraphs rewrapped to the terminal."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.help = _one_line_paragraphs(self.help)

    def get_params(self, ctx):
        return _plain_flags(super().get_params(ctx))

    def parse_args(self, ctx, args):
        try:
            return super().parse_args(ctx, args)
        except NoSuchOption as e:
            hint = "" if e.possibilities else setting_hint(e.option_name)
            if hint:
                e.message = f"No such option: {e.option_name}; {hint}"
            raise
