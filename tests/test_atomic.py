import os
import stat

import pytest

from tnpipe.atomic import atomic_dir, write_text


def test_written_files_and_folders_get_ordinary_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        write_text(tmp_path / "report.md", "x")
        with atomic_dir(tmp_path / "prepared") as tmp:
            (tmp / "meta.json").write_text("{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "report.md").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "prepared").stat().st_mode) == 0o755


def test_failed_atomic_dir_leaves_old_folder_untouched_and_no_temporaries(tmp_path):
    target = tmp_path / "prepared"
    target.mkdir()
    (target / "meta.json").write_text("old")
    with pytest.raises(RuntimeError), atomic_dir(target) as tmp:
        (tmp / "meta.json").write_text("new, half written")
        raise RuntimeError("interrupted")
    assert (target / "meta.json").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prepared"]
