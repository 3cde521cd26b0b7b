from __future__ import annotations

import os
import stat

import pytest

from edgetrack.artifacts import atomic_folder, write_json


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_atomic_writes_get_normal_permissions_not_tempfile_ones(tmp_path, umask_022, monkeypatch) -> None:
    import edgetrack.artifacts as artifacts

    monkeypatch.setattr(artifacts, "_UMASK", 0o022)
    with atomic_folder(tmp_path / "bundle") as folder:
        write_json(folder / "manifest.json", {"a": 1})
    assert _mode(tmp_path / "bundle") == 0o755
    assert _mode(tmp_path / "bundle" / "manifest.json") == 0o644


def test_failed_atomic_folder_leaves_nothing(tmp_path) -> None:
    with pytest.raises(RuntimeError), atomic_folder(tmp_path / "x") as folder:
        (folder / "half").write_text("written")
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_atomic_folder_removes_what_killed_writers_left(tmp_path) -> None:
    from edgetrack.artifacts import atomic_folder

    (tmp_path / ".student.tmp-abc123").mkdir()
    (tmp_path / ".student.tmp-abc123" / "model.safetensors").write_bytes(b"x" * 1000)
    (tmp_path / ".student.old-999").mkdir()
    (tmp_path / ".other.tmp-1").mkdir()  # another artifact's: left alone
    with atomic_folder(tmp_path / "student") as tmp:
        (tmp / "f").write_text("1")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.tmp-1", "student"]


def test_saved_model_files_are_readable_by_others(tmp_path, micro_model) -> None:
    import os
    import stat

    from edgetrack.models import save_model

    old = os.umask(0o022)
    try:
        folder = save_model(micro_model, tmp_path / "m")
    finally:
        os.umask(old)
    for name in ("model.safetensors", "config.json", "manifest.json"):
        assert stat.S_IMODE((folder / name).stat().st_mode) & 0o044 == 0o044, name
