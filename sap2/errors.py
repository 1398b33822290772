"""Errors that blame the user's input rather than the code."""


class InputError(Exception):
    """Bad user input (a missing file, a malformed line, inconsistent ids, ...).

    The message is one line that names the file, line or utterance at fault. Command-line
    tools print it without a traceback and exit with status 1 (see :mod:`sap2.cli`).
    """
