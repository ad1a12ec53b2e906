"""The restricted unpickler: numpy arrays and containers load; anything else is refused."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from tnpipe.data.safe_pickle import safe_load, safe_loads
from tnpipe.errors import DataError


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_cifar_like_batch_round_trips(protocol):
    data = np.arange(2 * 3072, dtype=np.uint8).reshape(2, 3072)
    batch = {b"batch_label": b"training batch 1 of 5", b"labels": [3, 7], b"data": data,
             b"filenames": [b"a.png", b"b.png"], b"extra": (1.5, {2, 3}, np.float32(0.25), np.int64(9))}
    out = safe_loads(pickle.dumps(batch, protocol=protocol), "batch")
    assert out[b"labels"] == [3, 7]
    assert out[b"data"].dtype == np.uint8 and np.array_equal(out[b"data"], data)
    assert out[b"filenames"] == [b"a.png", b"b.png"]
    assert out[b"extra"] == (1.5, {2, 3}, np.float32(0.25), np.int64(9))


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_os_system_pickle_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": _Evil(marker)}, protocol=2))
    with pytest.raises(DataError) as e:
        safe_load(path)
    msg = str(e.value)
    assert msg.startswith(f"{path}: pickle refers to global ")
    assert f"{os.system.__module__}.system" in msg      # posix.system on Linux
    assert not marker.exists()


@pytest.mark.parametrize("module,name", [("builtins", "eval"), ("subprocess", "Popen"), ("numpy", "load")])
def test_other_globals_are_refused(module, name):
    # GLOBAL opcode: 'c' module '\n' name '\n', then STOP
    blob = f"c{module}\n{name}\n.".encode()
    with pytest.raises(DataError, match=rf"^x\.pkl: pickle refers to global {module}\.{name}, "):
        safe_loads(blob, "x.pkl")


def test_codecs_encode_only_with_latin1():
    assert safe_loads(pickle.dumps(b"\x00\xffabc", protocol=2)) == b"\x00\xffabc"
    blob = b"c_codecs\nencode\n(Vabc\nVrot13\ntR."
    with pytest.raises(DataError, match="only latin1 is allowed"):
        safe_loads(blob, "y.pkl")


def test_truncated_pickle_names_the_file(tmp_path):
    path = tmp_path / "test_batch"
    blob = pickle.dumps({b"data": np.zeros((10, 3072), np.uint8), b"labels": list(range(10))}, protocol=2)
    path.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(DataError, match=rf"^{path}: truncated or corrupt pickle \("):
        safe_load(path)


def test_unreadable_file_names_the_file(tmp_path):
    with pytest.raises(DataError, match=rf"^{tmp_path / 'nope'}: cannot read"):
        safe_load(tmp_path / "nope")
