"""Stage 1, `tnpipe prepare`: raw data in its official layout -> PreparedDataset.

For each dataset name: resolve where its raw files are (raw root, --source, or the
synthetic stand-in's folder), optionally download or generate them, read them through the
dataset's reader, and save the PreparedDataset atomically. A dataset whose prepared folder
exists, verifies, and was made with the same feature settings is reused unless `force`,
wherever its raw files were read from (a later plain `prepare cifar10` or `run cifar10`
after `prepare cifar10 --raw-root ../shared/data` reuses it); only a --source or
--raw-root given explicitly and different from the recorded one prepares it again. One
writer per prepared dataset (tnpipe.locks).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tnpipe import paths
from tnpipe.artifacts.prepared import PreparedRecord, verify_prepared
from tnpipe.data import get_dataset
from tnpipe.data.config import DataCfg
from tnpipe.errors import RecipeError
from tnpipe.locks import hold, prepared_lock


@dataclass
class PrepareOutcome:
    status: Literal["done", "reused"]
    path: Path                 # the prepared folder
    record: PreparedRecord     # its meta.json
    seconds: float


def data_cfg_for(name: str) -> DataCfg:
    """The [data] section of recipes/NAME.toml if that recipe exists, else the dataset's defaults."""
    path = paths.recipe_path(name)
    if path.is_file():
        from tnpipe.recipe import load_recipe

        recipe = load_recipe(path)
        if recipe.data.name != name:
            raise RecipeError(f"{path}: [data].name is {recipe.data.name!r}; expected {name!r}")
        return recipe.data
    return get_dataset(name).default_cfg()


def _prepare_key(cfg: DataCfg, raw: Path, synthetic: bool) -> str:
    blob = json.dumps({"cfg": dataclasses.asdict(cfg), "raw": str(raw.resolve()), "synthetic": synthetic},
                      sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _settings_key(cfg: DataCfg, synthetic: bool) -> str:
    """The feature settings alone: what decides the prepared arrays, wherever the raw files are."""
    blob = json.dumps({"cfg": dataclasses.asdict(cfg), "synthetic": synthetic}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def prepare(
    name: str,
    raw_root: Path | None = None,
    source: Path | None = None,
    synthetic: bool = False,
    download: bool = False,
    force: bool = False,
    prepared_root: Path | None = None,
    cfg: DataCfg | None = None,
) -> PrepareOutcome:
    """Prepare one dataset, or reuse its folder when it verifies and was made with the same
    [data] settings (and from the same raw folder, when `source` or `raw_root` is given),
    unless force."""
    start = time.perf_counter()
    src = get_dataset(name)
    cfg = cfg or data_cfg_for(name)
    explicit = source is not None or raw_root is not None
    raw_root = paths.raw_root() if raw_root is None else Path(raw_root)
    raw = Path(source) if source is not None else \
        paths.raw_dir(src.raw_folder, True, raw_root) if synthetic else src.raw_dir(raw_root)
    out = paths.prepared_dir(name, synthetic, prepared_root)
    with hold(prepared_lock(out), f"{out}"):
        old = None if force else _reusable(out, cfg, raw if explicit else None, synthetic)
        if old is not None:
            return PrepareOutcome("reused", out, old, time.perf_counter() - start)
        _read_and_save(src, cfg, raw, synthetic, download, out)
    return PrepareOutcome("done", out, PreparedRecord.load(out), time.perf_counter() - start)


def _reusable(out: Path, cfg: DataCfg, raw: Path | None, synthetic: bool) -> PreparedRecord | None:
    """The record of `out` if it verifies and was made with `cfg` (from `raw`, when one was
    named; else from whatever raw folder it recorded)."""
    if not verify_prepared(out):
        return None
    rec = PreparedRecord.load(out)
    if raw is None and rec.raw.get("feature_params", {}).get("settings_key") == _settings_key(cfg, synthetic):
        return rec
    made_from = raw if raw is not None else Path(str(rec.raw.get("raw", "")))   # folders from before settings_key
    return rec if rec.prepare_key == _prepare_key(cfg, made_from, synthetic) else None


def _read_and_save(src, cfg: DataCfg, raw: Path, synthetic: bool, download: bool, out: Path) -> None:
    key = _prepare_key(cfg, raw, synthetic)
    if synthetic:
        src.write_synthetic(raw, cfg)
    elif download:
        from tnpipe.data.download import download_resources

        download_resources(src, raw)
    ds = src.read(raw, cfg)
    ds.synthetic = synthetic
    ds.feature_params = {**ds.feature_params, "prepare_key": key, "settings_key": _settings_key(cfg, synthetic)}
    ds.prepare_key, ds.raw = key, str(raw)
    ds.save(out)
