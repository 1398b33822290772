"""Writing outputs so that a failed run never leaves a half-written file behind, and
reading the YAML option files of the commands with one-line errors."""

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import yaml

from sap2.errors import InputError

Pathlike = str | Path


@contextlib.contextmanager
def atomic_output(path: Pathlike) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (same suffixes, so that e.g. lhotse picks
    the compression); on success it is renamed to ``path``, on error removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix="".join(path.suffixes)
    )
    os.close(fd)
    os.chmod(tmp, 0o644)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_folder(path: Pathlike) -> Iterator[Path]:
    """Yield an empty folder ``<path>.tmp`` to write into; on success it replaces
    ``path`` (an older one is removed), on error it is removed. A failed write never
    leaves a half-written ``path``."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(path, ignore_errors=True)
    tmp.rename(path)


def atomic_write_text(path: Pathlike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def read_yaml_mapping(path: Pathlike) -> dict:
    """The options of a YAML file (a mapping; an empty file gives ``{}``); a missing,
    unreadable or malformed file raises :class:`InputError` naming it."""
    try:
        loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: cannot read ({err})") from None
    except yaml.YAMLError as err:
        raise InputError(f"{path}: not valid YAML ({' '.join(str(err).split())})") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise InputError(f"{path}: not a YAML mapping of options")
    return loaded
