"""Shared plumbing for the ``sap2.bin`` entry points: logging and user-error handling."""

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence

from sap2.errors import InputError

LOG_FORMAT = "%(asctime)s %(levelname)s [%(filename)s:%(lineno)d] %(message)s"


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the docstring's line breaks (its Usage: examples) and adds ``(default: X)`` to
    an option's help where there is a default to show: not for flags, required options,
    options without a default, or help that already says what the default is."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        shown = "%(default)" in text or "default" in text.lower()
        if (
            shown
            or not action.option_strings
            or action.required
            or action.nargs == 0
            or action.default in (None, "", [], argparse.SUPPRESS)
        ):
            return text
        return f"{text} (default: %(default)s)"


def add_verbose_option(parser: argparse.ArgumentParser) -> None:
    """The ``--verbose`` flag of every tool (debug logging)."""
    parser.add_argument("--verbose", action="store_true", help="debug logging")


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


def parse_yaml_value(path: str, key: str, value: object, parse: Callable[[str], object]):
    """A YAML option value through its argparse ``type`` (booleans as ``true``/``false``,
    null as ``""``), as if given on the command line; a bad one raises
    :class:`InputError` naming the file and the key."""
    text = "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
    try:
        return parse(text)
    except (argparse.ArgumentTypeError, ValueError) as err:
        raise InputError(f"{path}: {key}: {err}") from None


def parse_with_config(
    parser: argparse.ArgumentParser, cmd: Sequence[str] | None = None
) -> argparse.Namespace:
    """Parse ``cmd``, the options of a ``--config`` YAML file (names as the options',
    ``-`` or ``_``) first and the command line over them. Each YAML value goes through
    its option's ``type`` and ``choices``; an unknown name or a bad value raises
    :class:`InputError` naming the file and the key. ``parser`` needs a ``--config``."""
    from sap2.fileio import read_yaml_mapping

    first, _ = parser.parse_known_args(cmd)
    if getattr(first, "config", None):
        actions = {a.dest: a for a in parser._actions if a.option_strings}
        defaults = {}
        for key, value in read_yaml_mapping(first.config).items():
            dest = str(key).replace("-", "_")
            action = actions.get(dest)
            if action is None or dest in ("config", "help"):
                raise InputError(f"{first.config}: unknown option '{key}'")
            parsed = parse_yaml_value(first.config, key, value, action.type or str)
            if action.choices is not None and parsed not in action.choices:
                choices = ", ".join(map(str, action.choices))
                raise InputError(f"{first.config}: {key}: {value!r} is not one of {choices}")
            defaults[dest] = parsed
        parser.set_defaults(**defaults)
    return parser.parse_args(cmd)


def run_tool(
    prog: str,
    parser: argparse.ArgumentParser,
    body: Callable[[argparse.Namespace], int | None],
    cmd: Sequence[str] | None = None,
    config_file: bool = False,
) -> int:
    """Parse ``cmd`` (default: ``sys.argv[1:]``; with ``config_file``, through
    :func:`parse_with_config`) and run ``body``.

    An :class:`InputError` is printed as ``PROG: error: MESSAGE`` and gives exit status 1;
    usage errors exit with status 2 through argparse. Output piped into a reader that
    stops early (``| head``) ends the tool quietly with status 1, as Python's docs advise.
    ``body`` finds the command line it was run with in ``args.command_line`` (for the
    provenance of what it writes). Returns the exit status.
    """
    try:
        args = parse_with_config(parser, cmd) if config_file else parser.parse_args(cmd)
    except InputError as err:  # a bad --config file
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 1
    args.command_line = [prog, *(sys.argv[1:] if cmd is None else cmd)]
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
