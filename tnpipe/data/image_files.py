"""Decoding image files (jpg, png, ppm) into one uint8 NHWC array, fast.

Used by the class-folder CIFAR layout (60,000 JPEGs), GTSRB (ppm + ROI) and
FlickrLogos-32 (jpg + bounding box). One image is:

    Pillow open -> RGB -> optional crop of an INCLUSIVE box (x1, y1, x2, y2), i.e. the
    pixels x1..x2 and y1..y2 both ends included, as GTSRB's Roi.X2/Roi.Y2 are ->
    resize to size x size with Pillow's BILINEAR filter (which widens its support when
    shrinking, so a downscale is antialiased) unless it already has that size.

Large lists are decoded by a pool of 2 worker processes (the machine's cores), in chunks,
with a rich progress bar; small lists in-process (a pool costs more than it saves).
A file Pillow cannot read raises `DataError` naming it.
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tnpipe.errors import DataError

Box = tuple[int, int, int, int]           # inclusive x1, y1, x2, y2

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".ppm")
POOL_THRESHOLD = 2000     # below this many images a worker pool is not worth its start-up
CHUNK = 1000              # images per worker task (one progress step)
WORKERS = 2
_FORMATS = {".jpg": ("JPEG",), ".jpeg": ("JPEG",), ".png": ("PNG",), ".ppm": ("PPM",)}


def decode_one(path: str, box: Box | None, size: int) -> np.ndarray:
    """One image -> (size, size, 3) uint8 (see the module docstring for the steps)."""
    from PIL import Image, UnidentifiedImageError

    # naming the format skips Pillow's probing of every plugin (about 20% of the time);
    # a file whose suffix lies about its format is retried with probing
    try:
        im = Image.open(path, formats=_FORMATS.get(Path(path).suffix.lower()))
    except UnidentifiedImageError:
        im = Image.open(path)
    with im:
        if im.mode != "RGB":
            im = im.convert("RGB")
        if box is not None:
            x1, y1, x2, y2 = box
            # clamp to the picture: a few official annotations touch or cross the border
            x1, y1 = max(0, x1), max(0, y1)
            x2, y2 = min(im.width - 1, x2), min(im.height - 1, y2)
            if x2 < x1 or y2 < y1:
                raise ValueError(f"box {box} is empty inside a {im.width}x{im.height} image")
            im = im.crop((x1, y1, x2 + 1, y2 + 1))     # Pillow's right/bottom edges are exclusive
        if im.size != (size, size):
            im = im.resize((size, size), Image.BILINEAR)
        im.load()
        return np.asarray(im, dtype=np.uint8)


def _decode_chunk(args: tuple[list[str], list[Box | None], int]) -> tuple[np.ndarray | None, str | None]:
    paths, boxes, size = args
    out = np.empty((len(paths), size, size, 3), dtype=np.uint8)
    for i, (p, b) in enumerate(zip(paths, boxes, strict=True)):
        try:
            out[i] = decode_one(p, b, size)
        except Exception as e:        # noqa: BLE001  (reported to the parent as one line)
            return None, f"{p}: unreadable image ({e.__class__.__name__}: {e})"
    return out, None


def decode_images(
    paths: Sequence[Path | str],
    size: int,
    boxes: Sequence[Box | None] | None = None,
    description: str = "decoding images",
    workers: int = WORKERS,
) -> np.ndarray:
    """Decode `paths` (with optional inclusive crop `boxes`) into (N, size, size, 3) uint8."""
    paths = [str(p) for p in paths]
    boxes = list(boxes) if boxes is not None else [None] * len(paths)
    if len(boxes) != len(paths):
        raise ValueError(f"{len(paths)} paths but {len(boxes)} boxes")
    out = np.empty((len(paths), size, size, 3), dtype=np.uint8)
    if not paths:
        return out
    chunks = [(paths[i:i + CHUNK], boxes[i:i + CHUNK], size) for i in range(0, len(paths), CHUNK)]
    from tnpipe.log import progress

    pool = None
    if len(paths) >= POOL_THRESHOLD and workers > 1:
        # fork (workers inherit the imported modules, so start-up is a few ms), and fork
        # BEFORE the progress bar starts its refresh thread: no lock is held mid-fork
        ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
        pool = ctx.Pool(workers)
    try:
        results = pool.imap(_decode_chunk, chunks) if pool is not None else map(_decode_chunk, chunks)
        with progress() as bar:
            task = bar.add_task(description, total=len(paths))
            start = 0
            for arr, error in results:
                if error is not None:
                    raise DataError(error)
                out[start:start + len(arr)] = arr
                start += len(arr)
                bar.advance(task, len(arr))
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
    return out


def resize_batch(x: np.ndarray, size: int) -> np.ndarray:
    """Resize an (N, H, W, 3) uint8 batch to (N, size, size, 3) (BILINEAR); no-op if equal."""
    if x.shape[1:3] == (size, size):
        return x
    from PIL import Image

    return np.stack([np.asarray(Image.fromarray(im).resize((size, size), Image.BILINEAR)) for im in x]) \
        if len(x) else np.empty((0, size, size, 3), np.uint8)


def list_images(folder: Path) -> list[Path]:
    """Image files directly inside `folder`, sorted by name (a stable order)."""
    return sorted(p for p in Path(folder).iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
