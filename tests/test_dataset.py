"""From cuts to batches: audio loading, long-utterance dropping, dynamic bucketing."""

import numpy as np
import pytest
import soundfile as sf
from fake_corpora import make_slidespeech
from lhotse import CutSet, Recording

from sap2.bin.prepare import main as prepare
from sap2.data.dataset import (
    Sap2Dataset,
    drop_unfit_cuts,
    fixed_task_example,
    load_audio,
    make_dataloader,
)
from sap2.errors import InputError
from sap2.model.processor import IGNORE_INDEX, load_processor


@pytest.fixture
def cuts(tmp_path):
    corpus = make_slidespeech(tmp_path)
    assert prepare(["slidespeech", str(corpus), str(tmp_path / "data"), "--parts", "test"]) == 0
    return CutSet.from_file(tmp_path / "data" / "cuts" / "test.jsonl.gz").to_eager()


def test_batches_cover_every_cut_once(cuts, tiny_model_dir):
    processor = load_processor(tiny_model_dir)
    dataset = Sap2Dataset(processor, fixed_task_example("prune", "context"), with_targets=True)
    seen = []
    for batch in make_dataloader(cuts, dataset, max_duration=2.5, shuffle=True, num_buckets=2):
        assert batch["input_ids"].shape == batch["labels"].shape
        assert len(batch["cut_ids"]) == batch["input_features"].shape[0]
        assert (batch["labels"] != IGNORE_INDEX).any()
        seen += batch["cut_ids"]
    assert sorted(seen) == sorted(cuts.ids)


def test_keywords_heard_and_missing_field(cuts):
    cut = cuts["talk1-0001"]
    example = fixed_task_example("prune", "context")(cut, np.zeros(10, dtype=np.float32))
    assert example.keywords == ["kaldi", "lattice", "tutorial"]
    with pytest.raises(InputError, match="has no custom field 'biasing_list_100'"):
        fixed_task_example("prune", "biasing_list_100")(cut, np.zeros(10, dtype=np.float32))


def test_audio_is_resampled_to_16k_mono(tmp_path):
    stereo = np.stack([np.ones(8000), -np.ones(8000) * 0.5], axis=1).astype(np.float32) * 0.1
    sf.write(tmp_path / "s.wav", stereo, 8000)
    cut = Recording.from_file(tmp_path / "s.wav").to_cut()
    audio = load_audio(cut)
    assert audio.ndim == 1 and len(audio) == 16000 and abs(audio[4000] - 0.025) < 0.01
    (tmp_path / "s.wav").write_bytes(b"broken")
    with pytest.raises(InputError, match=f"cut '{cut.id}': cannot load audio"):
        load_audio(cut)


def test_long_utterances_are_dropped_and_counted(cuts, caplog):
    kept = drop_unfit_cuts(cuts, max_seconds=1.15)
    assert sorted(kept.ids) == ["talk2-0001"]
    assert "dropped 3 of 4 utterances longer than the 1 s encoder window" in caplog.text
    shortest = min(c.duration for c in cuts)
    kept = drop_unfit_cuts(cuts, max_seconds=100, min_seconds=shortest + 1e-3)
    assert len(kept) == 3 and "shorter than" in caplog.text
