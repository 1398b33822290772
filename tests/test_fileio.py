"""Atomic outputs: a failed write leaves the earlier output as it was; YAML option files."""

import pytest

from sap2.errors import InputError
from sap2.fileio import atomic_folder, read_yaml_mapping


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


def test_read_yaml_mapping_gives_one_line_errors_naming_the_file(tmp_path):
    path = tmp_path / "conf.yaml"
    path.write_text("lora_rank: 0\nsap_mode: speech\n")
    assert read_yaml_mapping(path) == {"lora_rank": 0, "sap_mode": "speech"}
    path.write_text("")
    assert read_yaml_mapping(path) == {}
    for text, message in (("a: [\nb: 1\n", "not valid YAML"), ("- a\n- b\n", "not a YAML mapping")):
        path.write_text(text)
        with pytest.raises(InputError, match=message) as error:
            read_yaml_mapping(path)
        assert str(error.value).startswith(f"{path}: ") and "\n" not in str(error.value)
    with pytest.raises(InputError, match="missing.yaml: no such file"):
        read_yaml_mapping(tmp_path / "missing.yaml")
