"""Provenance of a result: which code, command, inputs and model produced it.

Scoring reports (``wer.json``) and decoding folders (``decode_stats.json``) carry a
``provenance`` record, so that a number can be traced back to what made it and two result
tables can be told apart by their short hashes.
"""

import hashlib
import subprocess
import sys
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path

import sap2

Pathlike = str | Path
_CHUNK = 1 << 20


def file_sha256(*paths: Pathlike) -> str:
    """The SHA-256 of a file's bytes (of several files', one after the other), in hex."""
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as f:
            while chunk := f.read(_CHUNK):
                digest.update(chunk)
    return digest.hexdigest()


@cache
def code_version() -> dict:
    """``sap2_version``, and where the package runs from a git checkout, ``git_commit``
    and ``git_dirty`` (tracked files changed since that commit)."""
    record: dict = {"sap2_version": sap2.__version__}
    root = Path(sap2.__file__).resolve().parent.parent

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", "-C", str(root), *args], capture_output=True,
                                 text=True, timeout=30)  # fmt: skip
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    if (root / ".git").exists() and (commit := git("rev-parse", "HEAD")):
        status = git("status", "--porcelain", "--untracked-files=no")
        record.update(git_commit=commit, git_dirty=bool(status) if status is not None else None)
    return record


def library_versions(names: Sequence[str] = ("torch", "transformers")) -> dict[str, str | None]:
    """Installed versions of the named distributions (None where not installed)."""
    from importlib import metadata  # slow to import; sap2-score does not need it

    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def run_provenance(
    command: Sequence[str] | None, inputs: Mapping[str, Pathlike | None], **extra
) -> dict:
    """The provenance of one run: code version, ``command`` (default: ``sys.argv``), the
    path and SHA-256 of every input given (``None`` entries are left out) and ``extra``."""
    files = {
        name: {"path": str(path), "sha256": file_sha256(path)}
        for name, path in inputs.items()
        if path is not None
    }
    return {
        **code_version(),
        "command": list(command) if command is not None else list(sys.argv),
        "inputs": files,
        **extra,
    }


def model_hashes(model_dir: Pathlike, adapter_dir: Pathlike | None = None) -> dict:
    """SHA-256 of the model folder's ``config.json`` and of the adapter's weights
    (``adapter_model.safetensors`` and / or ``.bin``, in name order), where they exist."""
    hashes: dict = {}
    config = Path(model_dir) / "config.json"
    if config.is_file():
        hashes["model_config_sha256"] = file_sha256(config)
    if adapter_dir is not None:
        weights = sorted(Path(adapter_dir).glob("adapter_model.*"))
        if weights:
            hashes["adapter_weights_sha256"] = file_sha256(*weights)
    return hashes
