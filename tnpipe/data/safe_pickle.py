"""A restricted unpickler for dataset files (the CIFAR "python version" batches).

A pickle is a program: loading one may call any importable function (os.system, eval,
...). Dataset pickles only ever need plain containers (built by opcodes, no globals),
bytes/str, numbers and numpy arrays, so this unpickler resolves exactly these globals:

    numpy's array reconstruction   numpy.core.multiarray._reconstruct   (numpy 1.x name)
                                   numpy._core.multiarray._reconstruct  (numpy 2.x name)
                                   numpy.ndarray, numpy.dtype
                                   numpy.core.multiarray.scalar (and the _core name)
                                   numpy.core.numeric._frombuffer (protocol-5 arrays)
    python containers              builtins.set, frozenset, bytearray, complex
                                   (also under python 2's name __builtin__)
    protocol-2 bytes from python 3 _codecs.encode, only with the 'latin1' codec

Every other global is refused with a `DataError` naming the file and the global, BEFORE
anything is called. The allowed names are mapped to objects imported here, not looked
up by module name, so numpy 2's deprecated `numpy.core` shim is never imported.
"""

from __future__ import annotations

import codecs
import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np
from numpy._core import multiarray as _multiarray
from numpy._core import numeric as _numeric

from tnpipe.errors import DataError


def _latin1_encode(obj: str, encoding: str = "latin1") -> bytes:
    """`_codecs.encode` as python 3 writes bytes into protocol-2 pickles; latin1 only."""
    if encoding not in ("latin1", "latin-1", "iso-8859-1"):
        raise pickle.UnpicklingError(f"_codecs.encode with codec {encoding!r}; only latin1 is allowed")
    return codecs.encode(obj, "latin1")


_ALLOWED: dict[tuple[str, str], Any] = {
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "bytearray"): bytearray,
    ("builtins", "complex"): complex,
    ("_codecs", "encode"): _latin1_encode,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}
# python 2 (and protocol < 3) pickles name the builtins module __builtin__
for (_m, _n), _obj in list(_ALLOWED.items()):
    if _m == "builtins":
        _ALLOWED[("__builtin__", _n)] = _obj
for _mod in ("numpy.core", "numpy._core"):
    _ALLOWED[(f"{_mod}.multiarray", "_reconstruct")] = _multiarray._reconstruct
    _ALLOWED[(f"{_mod}.multiarray", "scalar")] = _multiarray.scalar
    _ALLOWED[(f"{_mod}.numeric", "_frombuffer")] = _numeric._frombuffer
# numpy pickles dtypes as numpy.dtype plus a type string; numpy 2 also names the dtype classes
for _name in dir(np.dtypes):
    if _name.endswith("DType"):
        _ALLOWED[("numpy.dtypes", _name)] = getattr(np.dtypes, _name)

ALLOWED_GLOBALS: tuple[str, ...] = tuple(sorted(f"{m}.{n}" for m, n in _ALLOWED))


class _Refused(pickle.UnpicklingError):
    def __init__(self, global_name: str):
        super().__init__(global_name)
        self.global_name = global_name


class RestrictedUnpickler(pickle.Unpickler):
    """`pickle.Unpickler` whose `find_class` knows only `ALLOWED_GLOBALS`."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise _Refused(f"{module}.{name}") from None


def safe_loads(data: bytes, where: str = "<bytes>", encoding: str = "bytes") -> Any:
    """Unpickle `data` with the restricted unpickler; `where` names the source in errors.

    `encoding="bytes"` is how the CIFAR batches (written by python 2) must be read: their
    str objects come back as bytes, including the dict keys (b"data", b"labels")."""
    try:
        return RestrictedUnpickler(io.BytesIO(data), encoding=encoding).load()
    except _Refused as e:
        raise DataError(
            f"{where}: pickle refers to global {e.global_name}, which a dataset file never needs; "
            f"refused (a dataset pickle may hold only containers, bytes/str, numbers and numpy arrays)"
        ) from None
    except (EOFError, pickle.UnpicklingError, ValueError, TypeError, IndexError,
            KeyError, AttributeError, MemoryError) as e:
        raise DataError(
            f"{where}: truncated or corrupt pickle ({e.__class__.__name__}: {e}); "
            f"expected a complete python pickle (re-extract or re-download the file)"
        ) from None


def safe_load(path: Path, encoding: str = "bytes") -> Any:
    """Read and unpickle the file at `path` (see `safe_loads`)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None
    return safe_loads(data, str(path), encoding)
