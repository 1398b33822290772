"""Writing one prepared corpus part: lhotse manifests, a cut set, Kaldi-style text files.

Layout under the output folder ``data/`` (icefall/ESPnet style)::

    data/manifests/<corpus>_recordings_<part>.jsonl.gz
    data/manifests/<corpus>_supervisions_<part>.jsonl.gz
    data/cuts/<part>.jsonl.gz          # one cut per utterance, custom fields included
    data/<part>/text                   # uttid text (the scoring reference)
"""

import logging
from dataclasses import dataclass, field
from pathlib import Path

from lhotse import CutSet, Recording, RecordingSet, SupervisionSet
from lhotse.utils import fastcopy

from sap2.errors import InputError
from sap2.fileio import atomic_output, atomic_write_text

logger = logging.getLogger(__name__)

Pathlike = str | Path


@dataclass
class BadItems:
    """Problems found while reading a corpus: fatal unless ``skip_bad``."""

    skip_bad: bool
    problems: dict[str, list[str]] = field(default_factory=dict)

    def add(self, kind: str, item: str) -> None:
        self.problems.setdefault(kind, []).append(item)

    def check(self, where: str) -> None:
        """Raise (one line, counts and first items) or log and go on with ``skip_bad``."""
        if not self.problems:
            return
        summary = "; ".join(
            f"{len(items)} {kind} (first: {', '.join(items[:3])})"
            for kind, items in self.problems.items()
        )
        if not self.skip_bad:
            raise InputError(f"{where}: {summary}; use --skip-bad to leave them out")
        logger.warning("%s: skipped %s", where, summary)


def write_part(
    recordings: RecordingSet,
    supervisions: SupervisionSet,
    out_dir: Pathlike,
    corpus: str,
    part: str,
    custom: dict[str, dict[str, object]] | None = None,
) -> CutSet:
    """Write manifests, cuts (with ``custom[name][utt_id]`` fields) and ``text``.

    Each supervision becomes one cut (trimmed to it) with every channel of its recording
    (a ``MultiCut`` for stereo talks, whose channels
    :func:`sap2.data.dataset.load_audio` averages); the cut id is the utterance id.
    Audio paths are stored absolute, so that the manifests work from any folder.
    """
    out_dir = Path(out_dir)
    recordings = RecordingSet.from_recordings(absolute_paths(r) for r in recordings)
    for name, manifest in (("recordings", recordings), ("supervisions", supervisions)):
        with atomic_output(out_dir / "manifests" / f"{corpus}_{name}_{part}.jsonl.gz") as tmp:
            manifest.to_file(tmp)
    cuts = CutSet.from_manifests(recordings=recordings, supervisions=supervisions)
    cuts = cuts.trim_to_supervisions(keep_overlapping=False, keep_all_channels=True)
    updated = []
    for cut in cuts:
        utt = cut.supervisions[0].id
        cut = fastcopy(cut, id=utt)
        for name, values in (custom or {}).items():
            if utt in values:
                cut = cut.with_custom(name, values[utt])
        updated.append(cut)
    cuts = CutSet.from_cuts(updated)
    with atomic_output(out_dir / "cuts" / f"{part}.jsonl.gz") as tmp:
        cuts.to_file(tmp)
    atomic_write_text(
        out_dir / part / "text", "".join(f"{c.id} {c.supervisions[0].text}\n" for c in cuts)
    )
    logger.info(
        "%s %s: %d utterances, %.2f h",
        corpus,
        part,
        len(cuts),
        sum(c.duration for c in cuts) / 3600,
    )
    return cuts


def write_session_files(kaldi_dir: Pathlike, cuts: CutSet, keywords: bool = True) -> None:
    """The SlideSpeech scorer's inputs beside ``text``: ``utt2session`` (``uttid session``)
    and, with ``keywords``, ``keywords`` (``uttid KW$KW$...``, each cut's ``ocr_keywords``)."""
    kaldi_dir = Path(kaldi_dir)
    atomic_write_text(kaldi_dir / "utt2session", "".join(f"{c.id} {c.session}\n" for c in cuts))
    if keywords:
        lines = (f"{c.id} {'$'.join(c.custom.get('ocr_keywords', []))}\n" for c in cuts)
        atomic_write_text(kaldi_dir / "keywords", "".join(lines))


def absolute_paths(recording: Recording) -> Recording:
    """``recording`` with the paths of its file sources made absolute."""
    sources = [
        fastcopy(s, source=str(Path(s.source).resolve())) if s.type == "file" else s
        for s in recording.sources
    ]
    return fastcopy(recording, sources=sources)


def read_cuts(path: Pathlike) -> CutSet:
    """A cuts manifest, read whole; a missing, truncated or malformed one raises
    :class:`InputError` naming it (lhotse raises several types)."""
    if not Path(path).is_file():
        raise InputError(f"{path}: no such cuts manifest")
    try:
        return CutSet.from_file(path).to_eager()
    except Exception as err:  # gzip, JSON, lhotse's own checks
        detail = " ".join(str(err).split())[:160]
        raise InputError(
            f"{path}: not a readable lhotse cuts manifest ({type(err).__name__}: {detail})"
        ) from None


def count_longer_than(cuts: CutSet, seconds: float) -> int:
    """Utterances longer than ``seconds`` (the encoder window); they are dropped at training
    and decoding time, and counted here for the stage log."""
    return sum(1 for c in cuts if c.duration > seconds)
