"""Text normalisers applied to references and hypotheses before scoring."""

import json
import logging
from collections.abc import Callable
from pathlib import Path

from sap2.errors import InputError

logger = logging.getLogger(__name__)

NORMALIZERS = ("none", "whisper")


def get_normalizer(name: str, spelling_file: str | Path | None = None) -> Callable[[str], str]:
    """Return a ``str -> str`` text normaliser.

    Args:
      name: ``none`` (identity) or ``whisper``: the Whisper English text normaliser of
        transformers (``EnglishTextNormalizer``).
      spelling_file: for ``whisper``, the ``normalizer.json`` of a Whisper tokenizer
        (British -> American spellings). Without it no spellings are mapped.
    """
    if name == "none":
        return identity
    if name != "whisper":
        raise ValueError(f"unknown normaliser {name!r}; choose from {NORMALIZERS}")
    from transformers.models.whisper.english_normalizer import EnglishTextNormalizer

    spellings: dict[str, str] = {}
    if spelling_file is not None:
        try:
            spellings = json.loads(Path(spelling_file).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"{spelling_file}: no such file") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise InputError(f"{spelling_file}: not a JSON spelling map ({err})") from None
        if not isinstance(spellings, dict):
            raise InputError(f"{spelling_file}: expected a JSON object of spellings")
    else:
        logger.info("whisper normaliser without a spelling map (see --spelling-map)")
    return EnglishTextNormalizer(spellings)


def identity(text: str) -> str:
    return text
