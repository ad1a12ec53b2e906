"""No traceback reachable from the command line (issue 12): every subcommand driven with
malformed values of its numeric options and `--set` settings ends with exit 1 and one
`error:` line, or exit 2 and Typer's usage error, before any work starts."""

from __future__ import annotations

import os
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tnpipe.artifacts.training import TrainingRecord
from tnpipe.chip.config import ChipCfg
from tnpipe.cli import app
from tnpipe.nn.train_section import TrainCfg
from tnpipe.settings import parse_override

runner = CliRunner()
INT = re.compile(r"[+-]?\d+")

# printable, no spaces: the value is one command-line word (quotes and backslashes included)
words = st.text(st.characters(min_codepoint=33, max_codepoint=0x2FFF, exclude_categories=("Cs", "Zs", "Cc")),
                max_size=12)
bad_ints = st.one_of(st.integers(max_value=-1).map(str), words.filter(lambda s: not INT.fullmatch(s)),
                     st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: f != int(f)).map(repr))
bad_floats = st.one_of(st.floats(max_value=-1e-9).map(repr), st.sampled_from(["nan", "inf", "-inf", "1e999"]),
                       words.filter(lambda s: not _is_float(s)))


def _is_float(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _bad_setting(key: str, minimum: int):
    """Values of an int setting that the recipe checks refuse (TOML literals: '0x10' is 16)."""
    def bad(v: str) -> bool:
        value = parse_override(f"{key}={v}")[2]
        return not isinstance(value, int) or isinstance(value, bool) or value < minimum
    return words.filter(lambda v: "=" not in v).filter(bad)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """Roots in a temporary folder (nothing may land in the repository even if a check is
    missing) and one run folder with a train.json for deploy to read."""
    tmp = tmp_path_factory.mktemp("fuzz")
    rd = tmp / "results" / "toy" / "net"
    rd.mkdir(parents=True)
    TrainingRecord(dataset="toy", network="net", network_text="S-8", synthetic=False, prepared_dir=str(tmp),
                   run_key="k", seed=0, test_frames=1, hw_test_acc=0.0, float_test_acc=0.0, agreement=1.0,
                   test_acc_running_stats=None, epochs=1, epochs_planned=1, time_budget_min=0.0, seconds=0.0,
                   bn_stats="full", train=TrainCfg(), chip=ChipCfg()).save(rd)
    old = {k: os.environ.get(k) for k in ("TNPIPE_RAW_ROOT", "TNPIPE_PREPARED_ROOT", "TNPIPE_RESULTS_ROOT")}
    os.environ.update(TNPIPE_RAW_ROOT=str(tmp / "raw"), TNPIPE_PREPARED_ROOT=str(tmp / "prepared"),
                      TNPIPE_RESULTS_ROOT=str(tmp / "results"))
    yield rd
    for k, v in old.items():
        os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


def assert_refused(argv: list[str]) -> None:
    res = runner.invoke(app, argv)
    out = res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), (argv, res.exception)
    assert "Traceback" not in out, (argv, out)
    assert res.exit_code in (1, 2), (argv, res.exit_code, out)
    if res.exit_code == 1:
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (argv, res.stderr)
    else:
        assert "Usage:" in out and ("Invalid value" in out or "Error" in out), (argv, out)


def cases(run_dir) -> list[tuple[list[str], st.SearchStrategy]]:
    fsdd = "recipes/fsdd.toml"
    return [
        (["deploy", str(run_dir), "--frames={}"], bad_ints),
        (["deploy", str(run_dir), "--tick-hz={}"], bad_floats),
        (["deploy", str(run_dir), "--set", "chip.frames={}"], _bad_setting("chip.frames", 0)),
        (["deploy", str(run_dir), "--device={}"], words.filter(lambda s: s not in ("cpu", "cuda"))),
        (["train", fsdd, "--network", "tiny", "--seed={}"], bad_ints),
        (["train", fsdd, "--network", "tiny", "--set", "train.epochs={}"], _bad_setting("train.epochs", 1)),
        (["train", fsdd, "--network", "tiny", "--set", "train.batch_size={}"], _bad_setting("train.batch_size", 1)),
        (["run", "fsdd", "--frames={}"], bad_ints),
        (["run", "fsdd", "--set", "train.epochs={}"], _bad_setting("train.epochs", 1)),
        (["run", "fsdd", "--set", "chip.frames={}"], _bad_setting("chip.frames", 0)),
        (["prepare", "{}"], words.filter(lambda s: s not in ("fsdd",) and not s.startswith("-"))),
        (["report", "--all", "--format={}"], words.filter(lambda s: s not in ("table", "md", "csv"))),
        (["export", str(run_dir), "--format={}"], words.filter(lambda s: s != "nir")),
    ]


@pytest.mark.parametrize("which", range(13))
def test_malformed_values_never_reach_a_traceback(env, which):
    template, values = cases(env)[which]

    @settings(max_examples=30, deadline=None, database=None)
    @given(values)
    def check(value: str) -> None:
        assert_refused([part.replace("{}", value) if "{}" in part else part for part in template])

    check()


def test_run_folder_without_its_network_is_one_line(env):
    res = runner.invoke(app, ["deploy", str(env)])
    assert res.exit_code == 1
    assert res.stderr.strip() == (f"error: {env / 'network.npz'}: not found; the run's exported network is missing "
                                  "(train it again with `tnpipe train ... --force`)")
