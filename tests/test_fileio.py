"""Atomic outputs: a failed write leaves the earlier output as it was."""

import pytest

from sap2.fileio import atomic_folder


def test_atomic_folder_replaces_on_success_and_keeps_the_old_one_on_error(tmp_path):
    out = tmp_path / "final"
    with atomic_folder(out) as tmp:
        (tmp / "weights").write_text("first")
    assert (out / "weights").read_text() == "first"
    with pytest.raises(RuntimeError), atomic_folder(out) as tmp:
        (tmp / "weights").write_text("half")
        raise RuntimeError("disk full")
    assert (out / "weights").read_text() == "first"  # the earlier output is intact
    assert not (tmp_path / "final.tmp").exists()
    with atomic_folder(out) as tmp:
        (tmp / "config").write_text("second")
    assert sorted(p.name for p in out.iterdir()) == ["config"]  # nothing left of the old
