"""Non-speech negative controls: cuts of silence and of noise that carry a real context.

Nothing is said in them, so every word a model writes is an error, and every context word
it writes is a false alarm from the context. Each control copies the duration and the
custom fields (the contexts) of a real cut, so it is decoded exactly as that cut would be.
"""

import logging
from pathlib import Path

import numpy as np
import soundfile as sf
from lhotse import CutSet, Recording, RecordingSet, SupervisionSegment, SupervisionSet

from sap2.data.manifests import write_part, write_session_files
from sap2.fileio import atomic_output

logger = logging.getLogger(__name__)

SAMPLING_RATE = 16000
#: The kinds of control, each a function of (number of samples, random generator).
KINDS = {
    "silence": lambda samples, rng: np.zeros(samples, dtype=np.float32),
    # white noise at about -26 dBFS (RMS 0.05)
    "noise": lambda samples, rng: (0.05 * rng.standard_normal(samples)).astype(np.float32),
}
#: Custom fields that describe what was said; a control says nothing.
SAID_FIELDS = ("rare_words",)


def pick_sources(cuts: CutSet, count: int) -> list:
    """``count`` cuts spread evenly over ``cuts`` in id order (all of them if fewer)."""
    ordered = sorted(cuts, key=lambda c: c.id)
    if count >= len(ordered):
        return ordered
    return [ordered[round(k * (len(ordered) - 1) / max(1, count - 1))] for k in range(count)]


def write_nonspeech_part(
    cuts: CutSet, data_dir: str | Path, part: str, count: int, seed: int = 0
) -> CutSet:
    """Write ``count`` silence and ``count`` noise cuts modelled on cuts of ``cuts``.

    Writes the audio to ``data_dir/audio/<part>/``, the manifests and
    ``data_dir/cuts/<part>.jsonl.gz`` as :func:`sap2.data.manifests.write_part` does, and
    ``data_dir/<part>/{text,keywords,utt2session}``: empty references, the source cut's
    OCR keywords (none where it has none), and the kind as the session. Cut ids are
    ``<source id>-<kind>``.
    """
    data_dir = Path(data_dir)
    audio_dir = data_dir / "audio" / part
    audio_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    recordings, supervisions, custom = [], [], {}
    for source in pick_sources(cuts, count):
        samples = round(source.duration * SAMPLING_RATE)
        for kind, make in KINDS.items():
            utt = f"{source.id}-{kind}"
            path = audio_dir / f"{utt}.wav"
            with atomic_output(path) as tmp:
                sf.write(tmp, make(samples, rng), SAMPLING_RATE, format="WAV")
            recordings.append(Recording.from_file(path, recording_id=utt))
            supervisions.append(SupervisionSegment(
                id=utt, recording_id=utt, start=0.0, duration=recordings[-1].duration,
                channel=0, text="", speaker=kind,
            ))  # fmt: skip
            fields = dict(source.custom or {})
            fields.update({name: [] for name in SAID_FIELDS if name in fields})
            fields["session"] = kind
            for name, value in fields.items():
                custom.setdefault(name, {})[utt] = value
    written = write_part(
        RecordingSet.from_recordings(recordings), SupervisionSet.from_segments(supervisions),
        data_dir, "nonspeech", part, custom,
    )  # fmt: skip
    write_session_files(data_dir / part, written)
    logger.info("%s: %d non-speech cuts (%s)", part, len(written), ", ".join(KINDS))
    return written
