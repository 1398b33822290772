"""Writing outputs so that a failed run never leaves a half-written file behind."""

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

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
