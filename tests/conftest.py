"""Shared fixtures: paths to the repository and the optional is21 benchmark files."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
IS21_DIR = REPO.parent / "shared" / "is21"


@pytest.fixture
def is21_dir() -> Path:
    """``../shared/is21`` beside the checkout; tests using it skip where it is absent."""
    if not (IS21_DIR / "ref").is_dir():
        pytest.skip(f"{IS21_DIR} is absent (a fresh clone has no shared/ folder)")
    return IS21_DIR


def load_script(relative_path: str):
    """Import a script of the repository (e.g. a benchmark) as a module."""
    path = REPO / relative_path
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_score(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m sap2.bin.score ARGS`` as a user would, capturing its output."""
    return subprocess.run(
        [sys.executable, "-m", "sap2.bin.score", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
    )


TINY_TEXTS = [
    "the quick brown fox jumps over the lazy dog",
    "speech recognition with context keywords from lecture slides",
    "attention pooling compresses the long context",
    "transcribe speech to text according to keywords may appear in the utterance",
    "select keywords that may appear in the speech from the following keywords list",
    "none keywords transcription",
]


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A random Qwen2-Audio folder in the published layout (built once per session)."""
    from sap2.model.tiny import build_tiny_qwen2_audio

    return build_tiny_qwen2_audio(tmp_path_factory.mktemp("tiny") / "qwen2_audio", TINY_TEXTS * 4)


@pytest.fixture(scope="session")
def slidespeech_test_cuts(tmp_path_factory) -> Path:
    """The test split of the fake SlideSpeech corpus, prepared (built once per session)."""
    from fake_corpora import make_slidespeech

    from sap2.bin.prepare import main as prepare

    root = tmp_path_factory.mktemp("slidespeech")
    corpus = make_slidespeech(root)
    assert prepare(["slidespeech", str(corpus), str(root / "data"), "--parts", "test"]) == 0
    return root / "data" / "cuts" / "test.jsonl.gz"


def recipe_copy(tmp_path: Path, name: str) -> Path:
    """A checkout-like tree in tmp_path whose recipe links to the repository's files, so
    that run.sh writes data/ under tmp_path."""
    root = tmp_path / "root"
    (root / "egs" / name).mkdir(parents=True)
    for shared in ("path.sh", "utils", "requirements-models.txt"):
        (root / shared).symlink_to(REPO / shared)
    if name != "slidespeech":  # other recipes use its scoring hook
        (root / "egs" / "slidespeech").symlink_to(REPO / "egs" / "slidespeech")
    recipe = root / "egs" / name
    for item in (REPO / "egs" / name).iterdir():
        if item.name not in ("data", "exp", "download"):
            (recipe / item.name).symlink_to(
                item.resolve() if item.name != "utils" else "../../utils"
            )
    return recipe


def run_recipe(recipe: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    return subprocess.run(
        ["bash", "run.sh", *args], cwd=recipe, env=env, capture_output=True, text=True
    )
