"""Corpus preparation on fake LibriSpeech and SlideSpeech trees, and its bad inputs."""

from pathlib import Path

import pytest
from fake_corpora import make_librispeech, make_slidespeech
from lhotse import CutSet

from sap2.bin.prepare import main as prepare


@pytest.fixture
def libri(tmp_path):
    return make_librispeech(tmp_path)


@pytest.fixture
def slides(tmp_path):
    return make_slidespeech(tmp_path)


def test_librispeech_parts(libri, tmp_path):
    data = tmp_path / "data"
    assert prepare(["librispeech", str(libri), str(data), "--parts", "test-clean"]) == 0
    cuts = CutSet.from_file(data / "cuts" / "test-clean.jsonl.gz")
    assert sorted(cuts.ids) == ["1089-134686-0000", "1089-134686-0001", "1188-133604-0000"]
    text = (data / "test-clean" / "text").read_text().splitlines()
    assert "1089-134686-0001 stuff it into you his belly counselled him" in text
    assert (data / "manifests" / "librispeech_recordings_test-clean.jsonl.gz").is_file()


def test_librispeech_bad_inputs(libri, tmp_path, capsys):
    data = tmp_path / "data"
    assert (
        prepare(["librispeech", str(tmp_path / "nowhere"), str(data), "--parts", "test-clean"]) == 1
    )
    assert "no LibriSpeech part here (expected <spk>/<chapter>/" in capsys.readouterr().err
    trans = libri / "test-clean" / "1089" / "134686" / "1089-134686.trans.txt"
    trans.write_text(trans.read_text() + "1089-134686-0099 A LINE WITHOUT AUDIO\n")
    (libri / "test-clean" / "1089" / "134686" / "1089-134686-0000.flac").write_bytes(b"not flac")
    assert prepare(["librispeech", str(libri), str(data), "--parts", "test-clean"]) == 1
    err = capsys.readouterr().err
    assert "1 unreadable audio files (first: 1089-134686-0000" in err
    assert "1 transcript lines without audio (first: 1089-134686-0099)" in err
    assert "use --skip-bad" in err and "Traceback" not in err
    assert not (data / "cuts" / "test-clean.jsonl.gz").exists()
    args = ["librispeech", str(libri), str(data), "--parts", "test-clean", "--skip-bad"]
    assert prepare(args) == 0
    assert list(CutSet.from_file(data / "cuts" / "test-clean.jsonl.gz").ids) == [
        "1089-134686-0001",
        "1188-133604-0000",
    ]


def test_slidespeech_context_fields(slides, tmp_path):
    data = tmp_path / "data"
    assert (
        prepare(["slidespeech", str(slides), str(data), "--parts", "test", "--num-slides", "1"])
        == 0
    )
    cuts = {c.id: c for c in CutSet.from_file(data / "cuts" / "test.jsonl.gz")}
    assert set(cuts) == {"talk1-0001", "talk1-0002", "talk1-0003", "talk2-0001"}
    first, third = cuts["talk1-0001"], cuts["talk1-0003"]
    assert first.session == "talk1" and first.ocr_keywords == ["KALDI", "LATTICE"]
    assert first.context == ["kaldi", "lattice", "tutorial"]  # the slide on screen only
    assert first.context_distractors == ["tutorial"]  # without its keywords KALDI, LATTICE
    assert third.context == ["espnet", "recipes", "egs2", "template"]
    assert (first.start, first.duration) == (pytest.approx(0.2), pytest.approx(1.2))
    assert first.supervisions[0].text == "welcome to the kaldi lattice tutorial"
    assert (data / "test" / "keywords").read_text().splitlines()[0] == "talk1-0001 KALDI$LATTICE"
    assert "talk2-0001 talk2" in (data / "test" / "utt2session").read_text()
    # With 5 slides around the current one, both slides of talk 1 are context.
    assert prepare(["slidespeech", str(slides), str(tmp_path / "d5"), "--parts", "test"]) == 0
    five = {c.id: c for c in CutSet.from_file(tmp_path / "d5" / "cuts" / "test.jsonl.gz")}
    assert five["talk1-0001"].context == [
        "kaldi",
        "lattice",
        "tutorial",
        "espnet",
        "recipes",
        "egs2",
        "template",
    ]


@pytest.mark.parametrize(
    "damage, message",
    [
        ("no_wav", "no wav files under"),
        ("unknown_text", "1 transcript lines for unknown utterances (first: ghost-0001)"),
        ("unknown_keywords", "1 keyword lines for unknown utterances (first: ghost-0002)"),
        ("empty_keywords", "keywords: empty file"),
        ("empty_slides", "slides: empty slide OCR file"),
        ("bad_audio", "1 unreadable audio files"),
        ("bad_segment", "segments:2: start 3.0 must be >= 0 and before end 1.0"),
    ],
)
def test_slidespeech_bad_inputs(slides, tmp_path, capsys, damage, message):
    test = slides / "test"
    if damage == "no_wav":
        for wav in (test / "wav").rglob("*.wav"):
            wav.unlink()
    elif damage == "unknown_text":
        (test / "text").write_text((test / "text").read_text() + "ghost-0001 BOO\n")
    elif damage == "unknown_keywords":
        (test / "keywords").write_text((test / "keywords").read_text() + "ghost-0002 X$Y\n")
    elif damage == "empty_keywords":
        (test / "keywords").write_text("")
    elif damage == "empty_slides":
        (test / "slides").write_text("\n")
    elif damage == "bad_audio":
        (test / "wav" / "science" / "talk2.wav").write_bytes(b"RIFF....garbage")
    elif damage == "bad_segment":
        lines = (test / "segments").read_text().splitlines()
        lines[1] = "talk1-0002 talk1 3.0 1.0"
        (test / "segments").write_text("\n".join(lines) + "\n")
    assert prepare(["slidespeech", str(slides), str(tmp_path / "data"), "--parts", "test"]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "data" / "cuts" / "test.jsonl.gz").exists()


def test_slidespeech_skip_bad_and_file_options(slides, tmp_path):
    test = slides / "test"
    (test / "text").write_text((test / "text").read_text() + "ghost-0001 BOO\n")
    custom_text = tmp_path / "text.norm"
    custom_text.write_text((test / "text").read_text())
    args = ["slidespeech", str(slides), str(tmp_path / "data"), "--parts", "test"]
    assert prepare([*args, "--text", str(custom_text), "--skip-bad"]) == 0
    assert len(CutSet.from_file(tmp_path / "data" / "cuts" / "test.jsonl.gz")) == 4
    assert prepare([*args[:3], "--parts", "test", "train", "--text", str(custom_text)]) == 1


def test_librispeech_duplicate_ids_and_non_utf8_transcripts_are_refused(libri, tmp_path, capsys):
    data = tmp_path / "data"
    args = ["librispeech", str(libri), str(data), "--parts", "test-clean"]
    trans = libri / "test-clean" / "1089" / "134686" / "1089-134686.trans.txt"
    original = trans.read_bytes()
    trans.write_bytes(original + b"1089-134686-0000 SAID AGAIN\n")
    assert prepare(args) == 1
    err = capsys.readouterr().err
    assert f"{trans}:3: utterance id '1089-134686-0000' also at {trans}:1" in err
    trans.write_bytes(original + b"1089-134686-0002 CAF\xe9\n")
    assert prepare(args) == 1
    assert f"{trans}:3: not valid UTF-8" in capsys.readouterr().err
    assert not (data / "cuts").exists()


def test_stereo_talks_are_averaged_and_audio_paths_are_absolute(tmp_path, monkeypatch):
    import numpy as np
    import soundfile as sf
    from fake_corpora import SR

    from sap2.data.dataset import load_audio

    monkeypatch.chdir(tmp_path)
    corpus = make_slidespeech(Path("rel"))  # a relative corpus folder
    wav = corpus / "test" / "wav" / "science" / "talk2.wav"
    left = np.full(5 * SR, 0.1, dtype=np.float32)
    sf.write(wav, np.stack([left, 3 * left], axis=1), SR)  # channels that differ
    assert prepare(["slidespeech", str(corpus), "data", "--parts", "test"]) == 0
    monkeypatch.chdir("/")  # decoding from another folder
    cuts = CutSet.from_file(tmp_path / "data" / "cuts" / "test.jsonl.gz").to_eager()
    assert all(Path(c.recording.sources[0].source).is_absolute() for c in cuts)
    audio = load_audio(cuts["talk2-0001"])
    assert audio.ndim == 1 and np.allclose(audio, 0.2, atol=1e-3)  # the mean, not channel 0


def test_librispeech_download_leaves_no_archive_until_complete(tmp_path):
    import tarfile

    from sap2.data.librispeech import download_librispeech
    from sap2.errors import InputError

    source = make_librispeech(tmp_path / "source", parts=("test-clean",))
    server = tmp_path / "server"
    server.mkdir()
    with tarfile.open(server / "test-clean.tar.gz", "w:gz") as tar:
        tar.add(source, arcname="LibriSpeech")
    dl = tmp_path / "dl"
    with pytest.raises(InputError, match=r"cannot download file://.*/nowhere/test-clean.tar.gz"):
        download_librispeech(dl, ["test-clean"], base_url=f"file://{tmp_path}/nowhere")
    assert not (dl / "test-clean.tar.gz").exists() and not (dl / "LibriSpeech").exists()
    # The rerun resumes the .part file, renames it and unpacks the part whole.
    assert (
        download_librispeech(dl, ["test-clean"], base_url=f"file://{server}") == dl / "LibriSpeech"
    )
    files = sorted(p.relative_to(source) for p in source.rglob("*") if p.is_file())
    assert sorted(p.relative_to(dl / "LibriSpeech") for p in (dl / "LibriSpeech").rglob("*")
                  if p.is_file()) == files  # fmt: skip
    assert sorted(p.name for p in dl.iterdir()) == ["LibriSpeech", "test-clean.tar.gz"]
    # A broken archive is named, and nothing is unpacked from it.
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "test-other.tar.gz").write_bytes(b"\x1f\x8b not gzip")
    with pytest.raises(InputError, match=r"test-other.tar.gz: not a complete LibriSpeech"):
        download_librispeech(broken, ["test-other"])
    assert sorted(p.name for p in broken.iterdir()) == ["test-other.tar.gz"]
