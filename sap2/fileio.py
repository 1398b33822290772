"""Writing outputs so that a failed run never leaves a half-written file behind, locking
an output folder against a second writer, and reading the YAML option files of the
commands with one-line errors."""

import contextlib
import fcntl
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from sap2.errors import InputError

Pathlike = str | Path


@contextlib.contextmanager
def atomic_output(path: Pathlike) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (same suffixes, so that e.g. lhotse picks
    the compression); on success it is renamed to ``path``, on error removed. A folder
    at ``path`` (or a file where its parent folder should be) raises :class:`InputError`."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path}: is a folder, expected a file name to write")
    ensure_folder(path.parent)
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


def ensure_folder(path: Pathlike) -> Path:
    """Create the folder ``path`` (and its parents) if needed; a file in the way raises
    :class:`InputError` naming it."""
    path = Path(path)
    for parent in (path, *path.parents):
        if parent.exists():
            if not parent.is_dir():
                raise InputError(f"{parent}: is a file, expected a folder")
            break
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def folder_lock(folder: Pathlike, holder: str) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` (``folder/.lock``, an OS file lock that a
    killed process releases by itself). A second process raises :class:`InputError`
    saying which ``holder`` (a tool name), pid and host have the folder. A folder created
    here that holds nothing but the lock at the end is removed (a run that failed early
    leaves nothing behind)."""
    created = not Path(folder).exists()
    lock_path = ensure_folder(folder) / ".lock"
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.read(fd, 400).decode("utf-8", "replace").strip() or "another process"
            raise InputError(
                f"{folder}: in use by {owner}; wait for it to finish or write elsewhere"
            ) from None
        os.ftruncate(fd, 0)
        started = time.strftime("%Y-%m-%d %H:%M:%S")
        os.write(fd, f"{holder} (pid {os.getpid()} on {socket.gethostname()}, since {started})"
                 .encode())  # fmt: skip
        yield
    finally:
        if created and [p.name for p in Path(folder).iterdir()] == [".lock"]:
            lock_path.unlink()
            Path(folder).rmdir()
        os.close(fd)  # releases the lock


def atomic_write_text(path: Pathlike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def read_yaml_mapping(path: Pathlike) -> dict:
    """The options of a YAML file (a mapping; an empty file gives ``{}``); a missing,
    unreadable or malformed file raises :class:`InputError` naming it."""
    import yaml  # (not at the top: sap2-score starts without it)

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
