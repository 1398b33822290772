#!/usr/bin/env python3
"""Merge the decoding folders of JOB=1:N jobs into one.

Concatenates their hyp.jsonl and context.txt and writes hyp.txt, keywords.txt and
decode_stats.json as sap2-decode does; the jobs must have been decoded with the same
options (decode_options.json), which the merged folder records with the jobs'
provenance. utils/decode_split.sh runs it after the jobs.

Usage:
  sap2-merge-decodes exp/sap2/decode_two_stage/test/split4/{1,2,3,4} \\
      --out-dir exp/sap2/decode_two_stage/test
"""

import argparse
import logging
from collections.abc import Sequence

from sap2.cli import add_verbose_option, doc_parser, run_tool
from sap2.fileio import folder_lock

logger = logging.getLogger("sap2-merge-decodes")


def get_parser() -> argparse.ArgumentParser:
    parser = doc_parser("sap2-merge-decodes", __doc__)
    parser.add_argument("jobs", nargs="+", metavar="JOB_DIR", help="decoding folders of the jobs")
    parser.add_argument("--out-dir", required=True, help="the merged folder (locked while used)")
    add_verbose_option(parser)
    return parser


def merge(args: argparse.Namespace) -> int:
    from sap2.decode.outputs import merge_outputs

    with folder_lock(args.out_dir, "sap2-merge-decodes"):
        count = merge_outputs(args.jobs, args.out_dir)
    logger.info("merged %d utterances into %s", count, args.out_dir)
    return 0


def main(cmd: Sequence[str] | None = None) -> int:
    """Entry point of ``sap2-merge-decodes``."""
    return run_tool("sap2-merge-decodes", get_parser(), merge, cmd)


if __name__ == "__main__":
    raise SystemExit(main())
