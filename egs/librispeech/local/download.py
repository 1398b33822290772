#!/usr/bin/env python3
"""Stage 0 of egs/librispeech: download LibriSpeech parts and the is21 word lists.

Parts already in ``DL_DIR/LibriSpeech`` and word lists already in ``WORDS_DIR`` are kept.

Usage:
  python local/download.py --dl-dir download --words-dir download/is21_words \\
      --parts train-clean-100 test-clean test-other
"""

import argparse
import logging
from pathlib import Path

from sap2.data.librispeech import IS21_WORD_FILES, download_is21_words, download_librispeech
from sap2.errors import InputError


def main() -> None:
    try:
        download(get_args())
    except (InputError, OSError) as err:
        raise SystemExit(f"local/download.py: error: {err}") from None


def get_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dl-dir", required=True, help="LibriSpeech goes to DL_DIR/LibriSpeech")
    parser.add_argument("--words-dir", required=True, help="folder of the is21 word lists")
    parser.add_argument("--parts", nargs="+", required=True, help="LibriSpeech parts")
    return parser.parse_args()


def download(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    missing = [p for p in args.parts if not (Path(args.dl_dir) / "LibriSpeech" / p).is_dir()]
    if missing:
        download_librispeech(args.dl_dir, missing)
    else:
        logging.info("all LibriSpeech parts are in %s/LibriSpeech, skipping", args.dl_dir)
    if all((Path(args.words_dir) / name).is_file() for name in IS21_WORD_FILES):
        logging.info("is21 word lists are in %s, skipping", args.words_dir)
    else:
        download_is21_words(args.words_dir)


if __name__ == "__main__":
    main()
