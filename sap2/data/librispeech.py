"""LibriSpeech for the is21 biasing benchmark: download, preparation, is21 word lists.

``download_librispeech`` fetches each part's archive from OpenSLR with lhotse's resumable
download into ``<part>.tar.gz.part``, renamed to ``<part>.tar.gz`` only once complete (a
failed download never leaves an archive that a rerun would take for whole), and unpacks
it with lhotse's ``safe_extract``. The is21 word lists come from the public
``facebookresearch/fbai-speech`` repository. ``prepare_librispeech`` reads the corpus
with lhotse's LibriSpeech utterance parser, one utterance at a time, so that missing
or unreadable audio is reported by name (and skipped with ``skip_bad``); transcripts
are lower-cased, as the is21 references are.
"""

import logging
import shutil
import tarfile
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from lhotse import RecordingSet, SupervisionSet
from lhotse.recipes.librispeech import LIBRISPEECH, parse_utterance
from lhotse.utils import resumable_download, safe_extract
from tqdm import tqdm

from sap2.data.manifests import BadItems, count_longer_than, write_part
from sap2.errors import InputError
from sap2.fileio import atomic_output
from sap2.scoring.readers import read_lines

logger = logging.getLogger(__name__)

Pathlike = str | Path

IS21_WORDS_URL = (
    "https://raw.githubusercontent.com/facebookresearch/fbai-speech/main/is21_deep_bias/words"
)
IS21_WORD_FILES = ("common_words_5k.txt", "all_rare_words.txt", "all_words.count.txt")
OPENSLR_LIBRISPEECH_URL = "https://www.openslr.org/resources/12"

__all__ = ["download_librispeech", "download_is21_words", "prepare_librispeech"]


def download_librispeech(
    target_dir: Pathlike, parts: Sequence[str], base_url: str = OPENSLR_LIBRISPEECH_URL
) -> Path:
    """Download and unpack LibriSpeech ``parts`` into ``target_dir/LibriSpeech/<part>``
    (a part already there is kept: the unpacked folder is renamed into place whole). An
    interrupted download resumes from its ``.part`` file. A download that fails, or an
    archive that does not unpack, is an :class:`InputError` naming it. Returns
    ``target_dir/LibriSpeech``."""
    target_dir = Path(target_dir)
    corpus_dir = target_dir / "LibriSpeech"
    for part in parts:
        if part not in LIBRISPEECH:
            raise InputError(
                f"unknown LibriSpeech part {part!r}; choose from {', '.join(LIBRISPEECH)}"
            )
        part_dir = corpus_dir / part
        if part_dir.is_dir():
            logger.info("%s is there, skipping", part_dir)
            continue
        archive = target_dir / f"{part}.tar.gz"
        if not archive.is_file():
            partial = archive.with_name(archive.name + ".part")
            target_dir.mkdir(parents=True, exist_ok=True)
            url = f"{base_url}/{part}.tar.gz"
            logger.info("downloading %s", url)
            try:
                resumable_download(url, filename=partial)
            except OSError as err:  # URLError, HTTPError, a full disk, ...
                raise InputError(
                    f"cannot download {url} ({err}); put the corpus in "
                    f"{corpus_dir}/<part> or pass --dl-dir where it is"
                ) from None
            partial.rename(archive)
        unpacking = target_dir / f".{part}.unpacking"  # this function's own scratch folder
        shutil.rmtree(unpacking, ignore_errors=True)
        try:
            try:
                with tarfile.open(archive) as tar:
                    safe_extract(tar, path=unpacking)
            except (tarfile.TarError, EOFError, OSError) as err:
                raise InputError(f"{archive}: not a complete LibriSpeech archive ({err})") from None
            unpacked = unpacking / "LibriSpeech"
            if not (unpacked / part).is_dir():
                raise InputError(f"{archive}: holds no LibriSpeech/{part} folder")
            corpus_dir.mkdir(parents=True, exist_ok=True)
            (unpacked / part).rename(part_dir)
            for name in ("BOOKS.TXT", "CHAPTERS.TXT", "LICENSE.TXT", "README.TXT", "SPEAKERS.TXT"):
                if (unpacked / name).is_file() and not (corpus_dir / name).exists():
                    (unpacked / name).rename(corpus_dir / name)
        finally:
            shutil.rmtree(unpacking, ignore_errors=True)
    return corpus_dir


def download_is21_words(target_dir: Pathlike, force_download: bool = False) -> Path:
    """Fetch the is21 word lists into ``target_dir`` (skipping files already there)."""
    target_dir = Path(target_dir)
    for name in IS21_WORD_FILES:
        path = target_dir / name
        if path.is_file() and not force_download:
            logger.info("%s exists, skipping", path)
            continue
        logger.info("downloading %s/%s", IS21_WORDS_URL, name)
        try:
            with atomic_output(path) as tmp:
                urllib.request.urlretrieve(f"{IS21_WORDS_URL}/{name}", tmp)
        except OSError as err:
            raise InputError(
                f"cannot download {IS21_WORDS_URL}/{name} ({err}); copy the is21 word lists "
                f"({', '.join(IS21_WORD_FILES)}) to a folder and pass --words-dir"
            ) from None
    return target_dir


def read_transcripts(paths: list[Path]) -> list[str]:
    """The lines of ``<spk>-<chapter>.trans.txt`` files (UTF-8); an utterance id given
    twice raises :class:`InputError` naming the file and line."""
    seen: dict[str, str] = {}
    lines = []
    for path in paths:
        for number, line in read_lines(path):
            utt = line.split()[0]
            if utt in seen:
                raise InputError(f"{path}:{number}: utterance id '{utt}' also at {seen[utt]}")
            seen[utt] = f"{path}:{number}"
            lines.append(line)
    return lines


def prepare_librispeech(
    corpus_dir: Pathlike,
    output_dir: Pathlike,
    parts: list[str],
    skip_bad: bool = False,
    max_seconds: float = 30.0,
) -> None:
    """Write manifests, cuts and ``text`` of each part (see :mod:`sap2.data.manifests`).

    Args:
      corpus_dir: the ``LibriSpeech`` folder holding ``<part>/<spk>/<chapter>/``.
      output_dir: the recipe's ``data/`` folder.
      parts: e.g. ``["train-clean-100", "test-clean"]``.
      skip_bad: leave out utterances whose audio is missing or unreadable (else fail).
      max_seconds: utterances longer than this are counted in the log.
    """
    corpus_dir = Path(corpus_dir)
    for part in parts:
        part_dir = corpus_dir / part
        transcripts = sorted(part_dir.rglob("*.trans.txt")) if part_dir.is_dir() else []
        if not transcripts:
            raise InputError(
                f"{part_dir}: no LibriSpeech part here (expected <spk>/<chapter>/"
                f"<spk>-<chapter>.trans.txt with .flac files; run the download stage or "
                f"set --dl-dir)"
            )
        bad = BadItems(skip_bad)
        recordings, supervisions = [], []
        lines = read_transcripts(transcripts)
        for line in tqdm(lines, desc=f"LibriSpeech {part}", leave=False):
            utt = line.split()[0]
            try:
                parsed = parse_utterance(part_dir, line, {})
            except Exception as err:  # soundfile raises several types for broken audio
                bad.add("unreadable audio files", f"{utt} ({type(err).__name__})")
                continue
            if parsed is None:
                bad.add("transcript lines without audio", utt)
                continue
            recording, segment = parsed
            recordings.append(recording)
            supervisions.append(segment.transform_text(str.lower))
        bad.check(f"LibriSpeech {part}")
        cuts = write_part(
            RecordingSet.from_recordings(recordings),
            SupervisionSet.from_segments(supervisions),
            output_dir, "librispeech", part,
        )  # fmt: skip
        longer = count_longer_than(cuts, max_seconds)
        if longer:
            logger.info(
                "%s: %d utterances are longer than the %.0f s encoder window; they will be "
                "dropped at training and decoding time", part, longer, max_seconds,
            )  # fmt: skip
