"""SlideSpeech (Wang et al., ICASSP 2024): layout check and preparation with slide context.

The corpus cannot be redistributed; its download scripts
(https://github.com/Mashiro009/slidespeech_dl, OpenSLR 144) leave one 16 kHz wav file per
talk under ``<split>/wav/<category>/<video id>.wav``. The Kaldi-style text files that come
with it are read from paths given as options (their exact names vary between releases):

- ``segments``: ``uttid video_id start end`` (seconds);
- ``text``: ``uttid transcript``;
- ``keywords`` (optional): ``uttid KEYWORD$KEYWORD$...``, the OCR keywords of the
  utterance used for B-WER;
- ``slides`` (optional): ``video_id start end OCR text of the slide...``, one line per
  slide shown from ``start`` to ``end`` seconds.

Each utterance becomes a lhotse cut whose ``custom`` fields hold ``session`` (the video
id), ``ocr_keywords`` (list of keyword phrases) and ``context`` (keywords extracted from
the OCR text of the slide on screen at the utterance's midpoint and of its neighbours:
``num_slides`` slides centred on it, 5 by default as in the paper) and
``context_distractors`` (that context without the utterance's OCR keywords: the
distractor-only negative control).
"""

import bisect
import logging
from dataclasses import dataclass
from pathlib import Path

from lhotse import Recording, RecordingSet, SupervisionSegment, SupervisionSet

from sap2.context.distractors import without_words
from sap2.context.ocr_keywords import KeywordExtractor
from sap2.data.manifests import BadItems, count_longer_than, write_part, write_session_files
from sap2.errors import InputError
from sap2.scoring.readers import read_lines, read_text, read_word_lists

logger = logging.getLogger(__name__)

Pathlike = str | Path

DOWNLOAD_HELP = (
    "SlideSpeech cannot be downloaded by this recipe: get it from https://slidespeech.github.io "
    "(OpenSLR 144; download scripts: https://github.com/Mashiro009/slidespeech_dl) and point "
    "--corpus-dir at the folder holding train/, dev/ and test/"
)


@dataclass(frozen=True)
class Slide:
    start: float
    end: float
    text: str


@dataclass
class SlideSpeechPart:
    """Where the files of one split are; every path can be set on the command line."""

    wav_dir: Path
    segments: Path
    text: Path
    keywords: Path | None = None
    slides: Path | None = None

    @classmethod
    def default(cls, corpus_dir: Pathlike, split: str) -> "SlideSpeechPart":
        """``<corpus>/<split>/{wav,segments,text,keywords,slides}`` (optional files only if
        present)."""
        root = Path(corpus_dir) / split
        optional = {name: root / name for name in ("keywords", "slides")}
        return cls(
            wav_dir=root / "wav",
            segments=root / "segments",
            text=root / "text",
            **{k: (p if p.is_file() else None) for k, p in optional.items()},
        )


def check_layout(part: SlideSpeechPart, split: str) -> None:
    """Fail with one line saying what is missing and how to get the corpus."""
    if not part.wav_dir.is_dir() or not any(part.wav_dir.rglob("*.wav")):
        raise InputError(
            f"SlideSpeech {split}: no wav files under {part.wav_dir} (expected "
            f"{part.wav_dir}/<category>/<video id>.wav). {DOWNLOAD_HELP}"
        )
    for name in ("segments", "text"):
        if not getattr(part, name).is_file():
            raise InputError(
                f"SlideSpeech {split}: {getattr(part, name)} not found (pass its path with "
                f"--{name})"
            )


def read_segments(path: Pathlike) -> dict[str, tuple[str, float, float]]:
    """``{uttid: (video_id, start, end)}``, checking every line."""
    segments = {}
    for number, line in read_lines(path):
        fields = line.split()
        try:
            if len(fields) != 4:
                raise ValueError(f"expected 4 columns (uttid video start end), found {len(fields)}")
            start, end = float(fields[2]), float(fields[3])
            if not 0 <= start < end:
                raise ValueError(f"start {start} must be >= 0 and before end {end}")
        except ValueError as err:
            raise InputError(f"{path}:{number}: {err}") from None
        if fields[0] in segments:
            raise InputError(f"{path}:{number}: duplicate utterance id '{fields[0]}'")
        segments[fields[0]] = (fields[1], start, end)
    if not segments:
        raise InputError(f"{path}: empty file, expected segments")
    return segments


def read_slides(path: Pathlike) -> dict[str, list[Slide]]:
    """``{video_id: slides sorted by start}`` from ``video start end text`` lines."""
    slides: dict[str, list[Slide]] = {}
    for number, line in read_lines(path):
        fields = line.split(maxsplit=3)
        try:
            if len(fields) < 3:
                raise ValueError("expected 'video_id start end OCR text'")
            slide = Slide(float(fields[1]), float(fields[2]), fields[3] if len(fields) > 3 else "")
        except ValueError as err:
            raise InputError(f"{path}:{number}: {err}") from None
        slides.setdefault(fields[0], []).append(slide)
    if not slides:
        raise InputError(f"{path}: empty slide OCR file")
    for video in slides.values():
        video.sort(key=lambda s: s.start)
    return slides


def slide_window(slides: list[Slide], time: float, num_slides: int) -> list[Slide]:
    """The slide on screen at ``time`` (the last one started by then) and its neighbours:
    ``num_slides`` slides centred on it, clipped at the ends of the talk."""
    current = max(0, bisect.bisect_right([s.start for s in slides], time) - 1)
    first = max(0, current - (num_slides - 1) // 2)
    return slides[first : first + num_slides]


def prepare_slidespeech(
    part: SlideSpeechPart,
    split: str,
    output_dir: Pathlike,
    extractor: KeywordExtractor,
    num_slides: int = 5,
    lowercase: bool = True,
    skip_bad: bool = False,
    max_seconds: float = 30.0,
) -> None:
    """Write manifests, cuts (with context fields) and Kaldi files of one split.

    Besides :mod:`sap2.data.manifests`' ``text``, ``data/<split>/`` gets ``utt2session``
    and, with OCR keywords, ``keywords`` (the scorer's ``--keywords`` file).
    """
    check_layout(part, split)
    bad = BadItems(skip_bad)
    videos: dict[str, Path] = {}
    for wav in sorted(part.wav_dir.rglob("*.wav")):
        if wav.stem in videos:
            raise InputError(f"{wav}: video id '{wav.stem}' also at {videos[wav.stem]}")
        videos[wav.stem] = wav
    segments = read_segments(part.segments)
    texts = read_text(part.text)
    keywords = read_word_lists(part.keywords, separator="$") if part.keywords else {}
    slides = read_slides(part.slides) if part.slides else {}
    for utt in texts.keys() - segments.keys():
        bad.add("transcript lines for unknown utterances", utt)
    for utt in keywords.keys() - segments.keys():
        bad.add("keyword lines for unknown utterances", utt)

    recordings: dict[str, Recording] = {}
    for video in sorted({v for v, _, _ in segments.values()}):
        if video not in videos:
            continue
        try:
            recordings[video] = Recording.from_file(videos[video], recording_id=video)
        except Exception as err:  # soundfile raises several types for broken audio
            bad.add("unreadable audio files", f"{videos[video]} ({type(err).__name__})")

    supervisions, context, no_slide = [], {}, 0
    for utt, (video, start, end) in segments.items():
        if video not in videos:
            bad.add("segments of videos without audio", utt)
            continue
        if video not in recordings:
            continue
        if utt not in texts:
            bad.add("segments without a transcript", utt)
            continue
        if end > recordings[video].duration + 0.05:
            bad.add("segments past the end of their audio", utt)
            continue
        text = texts[utt].lower() if lowercase else texts[utt]
        supervisions.append(
            SupervisionSegment(
                id=utt,
                recording_id=video,
                start=start,
                duration=min(end, recordings[video].duration) - start,
                channel=0,
                text=text,
                speaker=video,
                language="English",
            )  # fmt: skip
        )
        talk = slides.get(video, [])
        if part.slides is not None and not talk:
            no_slide += 1
        window = slide_window(talk, (start + end) / 2, num_slides) if talk else []
        context[utt] = extractor(s.text for s in window)
    bad.check(f"SlideSpeech {split}")
    if not supervisions:
        raise InputError(f"SlideSpeech {split}: no usable utterance in {part.segments}")
    if no_slide:
        logger.warning("SlideSpeech %s: %d utterances have no slide OCR", split, no_slide)

    used = {s.recording_id for s in supervisions}
    custom = {
        "session": {s.id: s.recording_id for s in supervisions},
        "ocr_keywords": {s.id: keywords.get(s.id, []) for s in supervisions},
        "context": context,
        "context_distractors": {
            utt: without_words(words, keywords.get(utt, [])) for utt, words in context.items()
        },
    }
    cuts = write_part(
        RecordingSet.from_recordings(recordings[v] for v in sorted(used)),
        SupervisionSet.from_segments(supervisions),
        output_dir, "slidespeech", split, custom,
    )  # fmt: skip
    write_session_files(Path(output_dir) / split, cuts, keywords=part.keywords is not None)
    longer = count_longer_than(cuts, max_seconds)
    logger.info(
        "SlideSpeech %s: %d utterances, mean context %.1f words, %d longer than %.0f s (dropped "
        "at training and decoding time)", split, len(cuts),
        sum(len(c) for c in context.values()) / max(1, len(context)), longer, max_seconds,
    )  # fmt: skip
