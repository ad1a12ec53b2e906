"""NIST SPHERE audio, as TIMIT (LDC93S1) ships it, plus plain RIFF wav.

A SPHERE file is a fixed-size ASCII header followed by raw samples:

    NIST_1A\\n
       1024\\n                       header size in bytes (the samples start here)
    database_id -s5 TIMIT\\n         key -type value   (-i integer, -r real, -sN string of N chars)
    sample_count -i 46797\\n
    sample_rate -i 16000\\n
    channel_count -i 1\\n
    sample_n_bytes -i 2\\n
    sample_byte_format -s2 01\\n     "01" little endian, "10" big endian
    sample_coding -s3 pcm\\n
    end_head\\n
    (space padding up to the header size)

Only uncompressed 16-bit PCM is read (TIMIT's own coding); shorten-compressed SPHERE
("pcm,embedded-shorten-...") must first be decompressed, e.g. with `sph2pipe -f wav`.
Some TIMIT copies were converted to RIFF wav; those are read with soundfile.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tnpipe.atomic import write_bytes
from tnpipe.errors import DataError

SPHERE_MAGIC = b"NIST_1A"
HEADER_BYTES = 1024


@dataclass
class Audio:
    """Mono samples as float32 in [-1, 1) (int16 / 32768) and their rate in Hz."""

    samples: np.ndarray
    sample_rate: int


def parse_sphere_header(head: bytes, path: Path) -> tuple[dict[str, int | float | str], int]:
    """The header's fields and its size in bytes. Raises DataError naming the file."""
    lines = head.split(b"\n")
    if len(lines) < 3 or lines[0].strip() != SPHERE_MAGIC:
        raise DataError(f"{path}: not a NIST SPHERE file (first line {lines[0][:16]!r}; expected b'NIST_1A')")
    try:
        size = int(lines[1].strip())
    except ValueError:
        raise DataError(f"{path}: SPHERE header size {lines[1][:16]!r} is not an integer") from None
    fields: dict[str, int | float | str] = {}
    for n, raw in enumerate(lines[2:], start=3):
        line = raw.decode("ascii", errors="replace").strip()
        if line == "end_head":
            return fields, size
        if not line:
            continue
        parts = line.split(None, 2)
        if len(parts) < 3 or not parts[1].startswith("-"):
            raise DataError(f"{path}: SPHERE header line {n} {line!r}; expected 'key -type value'")
        key, kind, value = parts
        try:
            if kind == "-i":
                fields[key] = int(value)
            elif kind == "-r":
                fields[key] = float(value)
            else:
                fields[key] = value
        except ValueError:
            raise DataError(f"{path}: SPHERE header line {n}: {key} {kind} {value!r} is not a number") from None
    raise DataError(f"{path}: SPHERE header has no 'end_head' within its first {len(head)} bytes")


def read_sphere(path: Path) -> Audio:
    """Read a 16-bit PCM NIST SPHERE file; several channels are averaged to mono."""
    path = Path(path)
    data = path.read_bytes()
    fields, size = parse_sphere_header(data[: max(HEADER_BYTES, 4096)], path)
    coding = str(fields.get("sample_coding", "pcm"))
    if coding != "pcm":
        raise DataError(f"{path}: SPHERE sample_coding {coding!r}; expected 'pcm' "
                        "(decompress shorten files first, e.g. `sph2pipe -f wav`)")
    nbytes = int(fields.get("sample_n_bytes", 2))
    if nbytes != 2:
        raise DataError(f"{path}: SPHERE sample_n_bytes {nbytes}; expected 2 (16-bit PCM)")
    order = str(fields.get("sample_byte_format", "01"))
    if order not in ("01", "10"):
        raise DataError(f"{path}: SPHERE sample_byte_format {order!r}; expected '01' or '10'")
    channels = int(fields.get("channel_count", 1))
    if "sample_rate" not in fields:
        raise DataError(f"{path}: SPHERE header has no sample_rate")
    body = data[size:]
    available = len(body) // (nbytes * channels)
    count = int(fields.get("sample_count", available))
    if available < count:
        raise DataError(f"{path}: truncated: {available} samples after the header; "
                        f"sample_count says {count}")
    dtype = np.dtype("<i2" if order == "01" else ">i2")
    pcm = np.frombuffer(body, dtype=dtype, count=count * channels).reshape(count, channels)
    samples = pcm.astype(np.float32).mean(axis=1) / 32768.0
    return Audio(samples, int(fields["sample_rate"]))


def sphere_bytes(samples: np.ndarray, sample_rate: int, extra: dict[str, str | int] | None = None) -> bytes:
    """A TIMIT-style SPHERE file (1024-byte header, 16-bit little-endian PCM) as bytes.

    `samples` are int16, or floats in [-1, 1] (scaled by 32767 and clipped)."""
    samples = np.asarray(samples)
    if samples.dtype != np.int16:
        samples = np.clip(np.round(samples.astype(np.float64) * 32767.0), -32768, 32767).astype(np.int16)
    fields: dict[str, str | int] = {"database_id": "TIMIT", "database_version": "1.0",
                                    **(extra or {}),
                                    "sample_count": int(len(samples)), "sample_rate": int(sample_rate),
                                    "channel_count": 1, "sample_byte_format": "01", "sample_n_bytes": 2,
                                    "sample_sig_bits": 16, "sample_coding": "pcm",
                                    "sample_min": int(samples.min()) if len(samples) else 0,
                                    "sample_max": int(samples.max()) if len(samples) else 0}
    lines = ["NIST_1A", f"{HEADER_BYTES:7d}"]
    for key, value in fields.items():
        lines.append(f"{key} -i {value}" if isinstance(value, int) else f"{key} -s{len(str(value))} {value}")
    lines.append("end_head")
    head = ("\n".join(lines) + "\n").encode("ascii")
    if len(head) > HEADER_BYTES:
        raise ValueError(f"SPHERE header of {len(head)} bytes exceeds {HEADER_BYTES}")
    return head.ljust(HEADER_BYTES, b" ") + samples.astype("<i2").tobytes()


def write_sphere(path: Path, samples: np.ndarray, sample_rate: int, extra: dict[str, str | int] | None = None) -> None:
    """Write a SPHERE file atomically (see `sphere_bytes`)."""
    write_bytes(Path(path), sphere_bytes(samples, sample_rate, extra))


def _riff_data_frames(path: Path) -> int | None:
    """Frames the RIFF header declares (data chunk size / block align), None if not found.

    soundfile quietly returns what is there for a cut-off file; this catches it."""
    import struct

    with open(path, "rb") as f:
        f.read(12)                       # 'RIFF' <size> 'WAVE'
        block_align = None
        while True:
            chunk = f.read(8)
            if len(chunk) < 8:
                return None
            cid, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if cid == b"fmt ":
                fmt = f.read(size + (size & 1))
                block_align = struct.unpack("<H", fmt[12:14])[0] if len(fmt) >= 14 else None
            elif cid == b"data":
                return size // block_align if block_align else None
            else:
                f.seek(size + (size & 1), 1)


def read_audio(path: Path) -> Audio:
    """SPHERE or RIFF wav (detected from the first bytes, not the name: TIMIT's .WAV is SPHERE)."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            magic = f.read(8)
    except OSError as e:
        raise DataError(f"{path}: cannot read audio ({e.strerror})") from None
    if magic.startswith(SPHERE_MAGIC):
        return read_sphere(path)
    if magic.startswith(b"RIFF"):
        import soundfile

        try:
            data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
        except (RuntimeError, soundfile.LibsndfileError) as e:
            raise DataError(f"{path}: unreadable RIFF wav ({e})") from None
        declared = _riff_data_frames(path)
        if declared is not None and len(data) < declared:
            raise DataError(f"{path}: truncated: {len(data)} samples in the file; its RIFF header says {declared}")
        return Audio(data.mean(axis=1).astype(np.float32), int(rate))
    raise DataError(f"{path}: unknown audio format (first bytes {magic!r}); expected NIST SPHERE or RIFF wav")
