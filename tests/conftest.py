"""Shared fixtures: every test runs with its own raw, prepared and results roots."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(autouse=True, scope="session")
def precision_probe_cache(tmp_path_factory):
    """train.precision = auto caches its probe (tnpipe.nn.probe) in a temporary folder for the
    session, never in the user's ~/.cache; subprocesses inherit it."""
    old = os.environ.get("TNPIPE_CACHE_DIR")
    os.environ["TNPIPE_CACHE_DIR"] = str(tmp_path_factory.mktemp("tnpipe-cache"))
    yield
    if old is None:
        os.environ.pop("TNPIPE_CACHE_DIR", None)
    else:
        os.environ["TNPIPE_CACHE_DIR"] = old


@pytest.fixture
def roots(tmp_path, monkeypatch):
    """Point the three data roots at a temporary folder (nothing touches the repo)."""
    r = {"raw": tmp_path / "raw", "prepared": tmp_path / "prepared", "results": tmp_path / "results"}
    for v in r.values():
        v.mkdir()
    monkeypatch.setenv("TNPIPE_RAW_ROOT", str(r["raw"]))
    monkeypatch.setenv("TNPIPE_PREPARED_ROOT", str(r["prepared"]))
    monkeypatch.setenv("TNPIPE_RESULTS_ROOT", str(r["results"]))
    return r


def shared_data(sub: str) -> Path:
    """Path to real data in ../shared/data; skips the test with a reason if absent."""
    p = SHARED_DATA / sub
    if not p.exists():
        pytest.skip(f"real data {p} not present (it lives beside the repository, in shared/data)")
    return p


@pytest.fixture
def one_torch_thread():
    """Run a test with one torch thread (the chip engines are compared under the same
    threading; two OpenMP threads on a shared 2-core machine only add barrier waits)."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
