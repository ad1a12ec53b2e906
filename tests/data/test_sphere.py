"""NIST SPHERE reading and writing (TIMIT's audio format), and RIFF wav through the same door."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from tnpipe.data.sphere import (
    HEADER_BYTES,
    parse_sphere_header,
    read_audio,
    sphere_bytes,
    write_sphere,
)
from tnpipe.errors import DataError


def _pcm(n=1234, seed=0):
    return np.random.default_rng(seed).integers(-32768, 32767, n).astype(np.int16)


def test_round_trip_is_sample_exact(tmp_path):
    pcm = _pcm()
    write_sphere(tmp_path / "SI1.WAV", pcm, 16000)
    raw = (tmp_path / "SI1.WAV").read_bytes()
    assert raw[:16] == b"NIST_1A\n   1024\n"
    assert len(raw) == HEADER_BYTES + 2 * len(pcm)
    audio = read_audio(tmp_path / "SI1.WAV")
    assert audio.sample_rate == 16000
    assert audio.samples.dtype == np.float32
    np.testing.assert_array_equal(np.round(audio.samples * 32768).astype(np.int16), pcm)


def test_header_fields_are_typed(tmp_path):
    fields, size = parse_sphere_header(sphere_bytes(_pcm(10), 8000)[:HEADER_BYTES], tmp_path / "x")
    assert size == 1024
    assert fields["sample_rate"] == 8000 and fields["sample_count"] == 10
    assert fields["sample_byte_format"] == "01" and fields["sample_coding"] == "pcm"
    assert fields["database_id"] == "TIMIT"


def test_big_endian_and_float_input(tmp_path):
    pcm = _pcm(50)
    data = bytearray(sphere_bytes(pcm, 16000))
    head = bytes(data[:HEADER_BYTES]).replace(b"sample_byte_format -s2 01", b"sample_byte_format -s2 10")
    (tmp_path / "be.wav").write_bytes(head + pcm.astype(">i2").tobytes())
    np.testing.assert_array_equal(np.round(read_audio(tmp_path / "be.wav").samples * 32768).astype(np.int16), pcm)
    write_sphere(tmp_path / "f.wav", np.array([0.5, -0.5, 2.0]), 16000)      # floats are scaled and clipped
    assert np.round(read_audio(tmp_path / "f.wav").samples * 32768).astype(int).tolist() == [16384, -16384, 32767]


def test_truncated_sphere_names_the_file(tmp_path):
    p = tmp_path / "SX9.WAV"
    p.write_bytes(sphere_bytes(_pcm(1000), 16000)[: HEADER_BYTES + 2 * 600])
    with pytest.raises(DataError, match=r"SX9\.WAV: truncated: 600 samples after the header; sample_count says 1000"):
        read_audio(p)


def test_shorten_compressed_is_refused_with_the_fix(tmp_path):
    head = sphere_bytes(_pcm(4), 16000)[:HEADER_BYTES].replace(b"sample_coding -s3 pcm", b"sample_coding -s26 pcm,embedded-shorten-v2.00")
    (tmp_path / "c.wav").write_bytes(head[:HEADER_BYTES] + b"\0" * 8)
    with pytest.raises(DataError, match="sample_coding 'pcm,embedded-shorten-v2.00'; expected 'pcm'.*sph2pipe"):
        read_audio(tmp_path / "c.wav")


def test_riff_wav_and_truncated_riff(tmp_path):
    x = (np.sin(np.arange(2000) / 7) * 0.5).astype(np.float32)
    soundfile.write(tmp_path / "a.wav", x, 8000, subtype="PCM_16")
    audio = read_audio(tmp_path / "a.wav")
    assert audio.sample_rate == 8000 and audio.samples.shape == (2000,)
    np.testing.assert_allclose(audio.samples, x, atol=1 / 32768)
    data = (tmp_path / "a.wav").read_bytes()
    (tmp_path / "cut.wav").write_bytes(data[:1044])
    with pytest.raises(DataError, match=r"cut\.wav: truncated: 500 samples in the file; its RIFF header says 2000"):
        read_audio(tmp_path / "cut.wav")


def test_unknown_format(tmp_path):
    (tmp_path / "x.wav").write_bytes(b"OggS\0\0\0\0rest")
    with pytest.raises(DataError, match=r"x\.wav: unknown audio format .*expected NIST SPHERE or RIFF wav"):
        read_audio(tmp_path / "x.wav")
