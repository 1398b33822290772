#!/usr/bin/env python3
"""Convert between lhotse cuts and the ms-swift JSON of the SAP² authors.

``export`` writes one record per cut with the prompt of --task (context from the cuts'
custom fields: ``ocr_keywords`` for transcribe_context, ``context`` for prune and
multitask; see --context-field), in the form the authors' fork of ms-swift reads
(``<audio>PROMPT`` with the path in ``audios``); without --task, each cut's own task,
context and keywords (cuts from ``import``). ``import`` reads published metadata, and
the variants the authors' notebook writes, into cuts with the fields ``task``,
``context`` and ``keywords``.

Usage:
  sap2-swift-json export --cuts data/cuts/test.jsonl.gz --task prune \\
      --audio-dir data/swift/wav/test --out data/swift/test.json
  sap2-swift-json import --json SAP2-ASR/slidespeech_train.json --out data/cuts/swift_train.jsonl.gz
"""

import argparse
import logging
from collections.abc import Sequence

from sap2.cli import add_verbose_option, doc_parser, run_tool
from sap2.data.manifests import read_cuts
from sap2.data.swift_json import export_swift_json, import_swift_json
from sap2.fileio import atomic_output
from sap2.model.prompts import Task

logger = logging.getLogger("sap2-swift-json")


def get_parser() -> argparse.ArgumentParser:
    parser = doc_parser("sap2-swift-json", __doc__)
    sub = parser.add_subparsers(dest="direction", required=True)
    export = sub.add_parser("export", help="cuts -> ms-swift JSON")
    export.add_argument("--cuts", required=True, help="lhotse cuts manifest")
    export.add_argument(
        "--task", choices=[t.value for t in Task],
        help="the task of every record; default: each cut's own (cuts from import)",
    )  # fmt: skip
    export.add_argument("--out", required=True, help=".json (array) or .jsonl")
    export.add_argument("--audio-dir", required=True, help="where segment audio is written")
    export.add_argument("--context-field", help="cut custom field holding the context")
    imp = sub.add_parser("import", help="ms-swift JSON -> cuts")
    imp.add_argument("--json", required=True, help=".json (array) or .jsonl")
    imp.add_argument("--out", required=True, help="lhotse cuts manifest to write")
    imp.add_argument("--skip-bad", action="store_true", help="leave out bad records")
    for p in (export, imp):
        add_verbose_option(p)
    return parser


def convert(args: argparse.Namespace) -> int:
    if args.direction == "export":
        cuts = read_cuts(args.cuts)
        task = Task(args.task) if args.task else None
        count = export_swift_json(cuts, task, args.out, args.audio_dir, args.context_field)
        logger.info("wrote %d records to %s", count, args.out)
        return 0
    cuts = import_swift_json(args.json, args.skip_bad)
    with atomic_output(args.out) as tmp:
        cuts.to_file(tmp)
    logger.info("wrote %d cuts to %s", len(cuts), args.out)
    return 0


def main(cmd: Sequence[str] | None = None) -> int:
    """Entry point of ``sap2-swift-json``."""
    return run_tool("sap2-swift-json", get_parser(), convert, cmd)


if __name__ == "__main__":
    raise SystemExit(main())
