"""Tiny fake corpora in the real folder layouts and file formats (audio synthesised)."""

from pathlib import Path

import numpy as np
import soundfile as sf

SR = 16000

LIBRI_TEXT = {
    "test-clean": {
        "1089-134686-0000": "HE HOPED THERE WOULD BE STEW FOR DINNER TURNIPS AND CARROTS",
        "1089-134686-0001": "STUFF IT INTO YOU HIS BELLY COUNSELLED HIM",
        "1188-133604-0000": "YOU WILL FIND ME CONTINUALLY SPEAKING OF FOUR MEN TITIAN HOLBEIN",
    },
    "test-other": {
        "1688-142285-0000": "THERE'S IRON THEY SAY IN ALL OUR BLOOD",
        "1688-142285-0001": "AND A GRAIN OR TWO PERHAPS IS GOOD",
    },
    "train-clean-100": {
        "103-1240-0000": "CHAPTER ONE MISSUS RACHEL LYNDE IS SURPRISED",
        "103-1240-0001": "MISSUS RACHEL LYNDE LIVED JUST WHERE THE AVONLEA MAIN ROAD DIPPED",
        "103-1241-0000": "THE HOLLOW FRINGED WITH ALDERS AND LADIES EARDROPS",
    },
}


def tone(seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(SR * seconds)) / SR
    return (
        0.1 * np.sin(2 * np.pi * (200 + 50 * seed) * t) + 0.01 * rng.standard_normal(len(t))
    ).astype(np.float32)


def make_librispeech(root: Path, parts=("test-clean", "test-other", "train-clean-100")) -> Path:
    """``root/LibriSpeech/<part>/<spk>/<chapter>/`` with flac files and trans.txt."""
    corpus = root / "LibriSpeech"
    for part in parts:
        by_chapter: dict[tuple[str, str], list[str]] = {}
        for k, (utt, text) in enumerate(LIBRI_TEXT[part].items()):
            spk, chapter, _ = utt.split("-")
            folder = corpus / part / spk / chapter
            folder.mkdir(parents=True, exist_ok=True)
            sf.write(folder / f"{utt}.flac", tone(1.0 + 0.3 * k, k), SR)
            by_chapter.setdefault((spk, chapter), []).append(f"{utt} {text}")
        for (spk, chapter), lines in by_chapter.items():
            (corpus / part / spk / chapter / f"{spk}-{chapter}.trans.txt").write_text(
                "\n".join(lines) + "\n"
            )
    return corpus


def make_is21_words(root: Path) -> Path:
    """Word lists with the is21 file names: common words, the rare pool, counts."""
    words = root / "is21_words"
    words.mkdir(parents=True, exist_ok=True)
    common = "the and of a to in he his it you is there would be for him".split()
    rare = [f"distractor{i}" for i in range(60)] + ["titian", "holbein", "avonlea", "lynde"]
    (words / "common_words_5k.txt").write_text("\n".join(common) + "\n")
    (words / "all_rare_words.txt").write_text("\n".join(rare) + "\n")
    (words / "all_words.count.txt").write_text(
        "".join(f"{w}\t{100 - i}\n" for i, w in enumerate(common + rare))
    )
    return words


SLIDE_TALKS = {
    "test": {
        "talk1": [
            ("talk1-0001", 0.2, 1.4, "welcome to the kaldi lattice tutorial", "KALDI$LATTICE"),
            ("talk1-0002", 1.6, 2.8, "the lattice holds many paths", "LATTICE"),
            ("talk1-0003", 3.0, 4.2, "now espnet recipes", "ESPNET$RECIPE"),
        ],
        "talk2": [
            ("talk2-0001", 0.1, 1.2, "conformer encoders use convolution", "CONFORMER"),
        ],
    },
    "train": {
        "talk3": [
            ("talk3-0001", 0.0, 1.0, "attention is all you need", "ATTENTION"),
            ("talk3-0002", 1.2, 2.2, "transformers changed speech", "TRANSFORMERS"),
        ],
    },
}

SLIDES = {
    "talk1": [
        (0.0, 2.9, "Kaldi Lattice Tutorial | 1 ~ x"),
        (2.9, 5.0, "ESPnet recipes - egs2 TEMPLATE"),
    ],
    "talk2": [(0.0, 2.0, "Conformer: convolution + attention")],
    "talk3": [(0.0, 2.5, "Attention Is All You Need"), (2.5, 5.0, "Transformers")],
}


def make_slidespeech(root: Path) -> Path:
    """``root/SlideSpeech/<split>/wav/<category>/<video>.wav`` plus segments, text,
    keywords and slides files."""
    corpus = root / "SlideSpeech"
    for split, talks in SLIDE_TALKS.items():
        base = corpus / split
        segments, text, keywords, slides = [], [], [], []
        for k, (video, utts) in enumerate(talks.items()):
            wav = base / "wav" / "science" / f"{video}.wav"
            wav.parent.mkdir(parents=True, exist_ok=True)
            sf.write(wav, tone(5.0, k), SR)
            for utt, start, end, words, kws in utts:
                segments.append(f"{utt} {video} {start} {end}")
                text.append(f"{utt} {words.upper()}")
                keywords.append(f"{utt} {kws}")
            slides += [f"{video} {s} {e} {t}" for s, e, t in SLIDES[video]]
        for name, lines in (("segments", segments), ("text", text), ("keywords", keywords),
                            ("slides", slides)):  # fmt: skip
            (base / name).write_text("\n".join(lines) + "\n")
    return corpus
