"""Shared plumbing for the ``sap2.bin`` entry points: logging and user-error handling."""

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from sap2.errors import InputError

LOG_FORMAT = "%(asctime)s %(levelname)s [%(filename)s:%(lineno)d] %(message)s"


def setup_logging(verbose: bool = False) -> None:
    """Configure the root logger for a command-line tool (stderr, time, level, file:line)."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, format=LOG_FORMAT, stream=sys.stderr
    )


def run_tool(
    prog: str,
    parser: argparse.ArgumentParser,
    body: Callable[[argparse.Namespace], int | None],
    cmd: Sequence[str] | None = None,
) -> int:
    """Parse ``cmd`` (default: ``sys.argv[1:]``) and run ``body``.

    An :class:`InputError` is printed as ``PROG: error: MESSAGE`` and gives exit status 1;
    usage errors exit with status 2 through argparse. Returns the exit status.
    """
    args = parser.parse_args(cmd)
    setup_logging(getattr(args, "verbose", False))
    try:
        return body(args) or 0
    except InputError as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 1
