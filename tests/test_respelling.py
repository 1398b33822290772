"""Respelling augmentation: families file, consistent respelling, training examples."""

import numpy as np
import pytest
from lhotse import CutSet

from sap2.bin.train import get_parser
from sap2.errors import InputError
from sap2.train.config import config_from_args
from sap2.train.examples import TrainingExamples
from sap2.train.respelling import read_spelling_families, respell


def write(path, text):
    path.write_text(text)
    return str(path)


def test_read_spelling_families(tmp_path):
    families = read_spelling_families(write(tmp_path / "f", "lanos lannos\n\nkaldi caldi cald\n"))
    assert families["lannos"] == ["lanos", "lannos"]
    assert families["cald"] == families["kaldi"] == ["kaldi", "caldi", "cald"]
    with pytest.raises(InputError, match=r"f2:2: 'lanos' is in two families"):
        read_spelling_families(write(tmp_path / "f2", "lanos lannos\nlanos lanoss\n"))
    assert read_spelling_families(write(tmp_path / "f3", "\n")) == {}  # nothing to respell
    with pytest.raises(InputError, match="no such file"):
        read_spelling_families(str(tmp_path / "missing"))


def test_respell_draws_one_spelling_per_family_everywhere():
    families = {w: ["lanos", "lannos", "lanoss"] for w in ("lanos", "lannos", "lanoss")}
    seen = set()
    for seed in range(40):
        (transcript, context) = respell(
            [["we", "train", "lanos", "and", "lanoss"], ["lannos", "summary", "|"]],
            families, np.random.default_rng(seed),
        )  # fmt: skip
        spelling = transcript[2]
        assert transcript == ["we", "train", spelling, "and", spelling]
        assert context == [spelling, "summary", "|"]
        seen.add(spelling)
    assert seen == {"lanos", "lannos", "lanoss"}


def test_training_examples_respell_transcript_and_context(slidespeech_test_cuts, tmp_path):
    families = write(tmp_path / "families", "lattice lattisse latisse\nkaldi caldi\n")
    args = ["--model-dir", "m", "--train-cuts", "c", "--p-no-context", "0"]
    make = TrainingExamples(config_from_args(get_parser().parse_args(args)))
    respelt = TrainingExamples(
        config_from_args(get_parser().parse_args([*args, "--spelling-families", families]))
    )
    cut = CutSet.from_file(slidespeech_test_cuts).to_eager()["talk1-0001"]
    audio = np.zeros(10, dtype=np.float32)
    spellings = set()
    for epoch in range(30):
        make.set_epoch(epoch)
        respelt.set_epoch(epoch)
        plain, example = make(cut, audio), respelt(cut, audio)
        assert example.task == plain.task  # the task draw is unchanged
        words = example.transcript.split()
        assert words[:3] == ["welcome", "to", "the"] and words[5:] == ["tutorial"]
        assert words[3] in ("kaldi", "caldi") and words[4] in ("lattice", "lattisse", "latisse")
        if example.context:  # the long context or the keywords: spelt as the transcript
            assert {words[3], words[4]} <= set(example.context)
        assert set(example.keywords) <= set(words)
        spellings.add(words[4])
    assert spellings == {"lattice", "lattisse", "latisse"}
