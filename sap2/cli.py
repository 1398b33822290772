"""Shared plumbing for the ``sap2.bin`` entry points: logging and user-error handling."""

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence

from sap2.errors import InputError

LOG_FORMAT = "%(asctime)s %(levelname)s [%(filename)s:%(lineno)d] %(message)s"


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows defaults and keeps the docstring's line breaks (its Usage: examples)."""


def doc_parser(prog: str, doc: str) -> argparse.ArgumentParser:
    """A parser whose description is the first paragraph of a script's docstring and whose
    epilog is the rest (with its ``Usage:`` examples)."""
    paragraphs = doc.strip().split("\n\n")
    return argparse.ArgumentParser(
        prog=prog,
        description=paragraphs[0],
        epilog="\n\n".join(paragraphs[1:]),
        formatter_class=HelpFormatter,
    )


def str2bool(value: str) -> bool:
    """``true``/``false`` (also 1/0, yes/no) from the shell."""
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")


def number_type(kind: type, test: Callable[[float], bool], what: str) -> Callable[[str], float]:
    """An argparse ``type=``: ``kind(value)`` where ``test`` holds, else a usage error
    saying ``what`` was expected."""

    def parse(value: str):
        try:
            number = kind(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {value!r}") from None
        if not test(number):
            raise argparse.ArgumentTypeError(f"expected {what}, got {value}")
        return number

    parse.__name__ = what  # argparse names the type in "invalid <name> value"
    return parse


#: argparse ``type=`` checkers: a value outside the range is a usage error (exit 2).
positive_int = number_type(int, lambda n: n > 0, "an integer > 0")
nonnegative_int = number_type(int, lambda n: n >= 0, "an integer >= 0")
positive_float = number_type(float, lambda x: x > 0, "a number > 0")
nonnegative_float = number_type(float, lambda x: x >= 0, "a number >= 0")
fraction = number_type(float, lambda x: 0 <= x <= 1, "a number in [0, 1]")


def token_budget(value: str) -> int | None:
    """``--max-new-tokens``: ``auto`` (None: from the audio length) or an integer > 0."""
    return None if value == "auto" else positive_int(value)


token_budget.__name__ = "'auto' or an integer > 0"


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
    usage errors exit with status 2 through argparse. Output piped into a reader that
    stops early (``| head``) ends the tool quietly with status 1, as Python's docs advise.
    Returns the exit status.
    """
    args = parser.parse_args(cmd)
    setup_logging(getattr(args, "verbose", False))
    try:
        return body(args) or 0
    except InputError as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # Point stdout at /dev/null so that flushing it at exit does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
