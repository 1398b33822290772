"""Readers for the text files the scorers take, with one-line errors naming file and line.

Every reader returns a dict keyed by utterance id, in file order, and rejects duplicate ids.
"""

import json
from collections.abc import Iterator
from pathlib import Path

from sap2.errors import InputError

Pathlike = str | Path


def read_lines(path: Pathlike) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, line)`` for the non-blank lines of a UTF-8 text file (lines
    end at ``\n``, ``\r\n`` or ``\r``, as :meth:`bytes.splitlines` splits them).

    Raises:
      InputError: the file is missing or unreadable, or a line is not UTF-8.
    """
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, expected a file") from None
    except OSError as err:
        raise InputError(f"{path}: cannot read: {err.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        _raise_first_bad_line(path, data)
    if "\r" in text:  # (str.splitlines splits at more characters than bytes.splitlines)
        lines = [raw.decode("utf-8") for raw in data.splitlines()]
    else:
        lines = text.split("\n")
    for number, line in enumerate(lines, start=1):
        if line and not line.isspace():
            yield number, line


def _raise_first_bad_line(path: Pathlike, data: bytes) -> None:
    """Raise the :class:`InputError` naming the first line of ``data`` that is not UTF-8."""
    for number, raw in enumerate(data.splitlines(), start=1):
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise InputError(
                f"{path}:{number}: not valid UTF-8 (byte {raw[err.start]:#04x} at column "
                f"{err.start + 1})"
            ) from None


def _store(table: dict, key: str, value, path: Pathlike, number: int, seen: dict) -> None:
    if key in table:
        raise InputError(
            f"{path}:{number}: duplicate utterance id '{key}' (first on line {seen[key]})"
        )
    table[key] = value
    seen[key] = number


def _require_nonempty(table: dict, path: Pathlike, what: str) -> dict:
    if not table:
        raise InputError(f"{path}: empty file, expected {what}")
    return table


def read_text(path: Pathlike) -> dict[str, str]:
    """Read a Kaldi ``text`` file (``uttid word word ...``) or a two-column TSV.

    A line with a tab is read as TSV: the id, then optionally the text (an empty
    hypothesis may have no text column). Otherwise the id ends at the first space.
    """
    table: dict[str, str] = {}
    seen: dict[str, int] = {}
    for number, line in read_lines(path):
        if "\t" in line:
            fields = line.split("\t")
            if len(fields) > 2:
                raise InputError(
                    f"{path}:{number}: expected 2 tab-separated columns (id, text), "
                    f"found {len(fields)}"
                )
        else:
            fields = line.split(maxsplit=1)
        text = fields[1] if len(fields) > 1 else ""
        _store(table, fields[0].strip(), text, path, number, seen)
    return _require_nonempty(table, path, "lines 'uttid text'")


def _json_word_list(field: str, path: Pathlike, number: int, column: int) -> list[str]:
    try:
        words = json.loads(field)
    except json.JSONDecodeError as err:
        raise InputError(
            f"{path}:{number}: column {column} is not a JSON list ({err.msg})"
        ) from None
    if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
        raise InputError(f"{path}:{number}: column {column} must be a JSON list of strings")
    return words


def read_is21_ref(path: Pathlike) -> dict[str, tuple[str, list[str]]]:
    """Read an is21 reference TSV: id, text, JSON rare words, [JSON biasing list].

    Returns ``{uttid: (text, rare_words)}``; the biasing list (column 4) is not used by
    the scorers, so only its brackets are checked.
    """
    rows: list[tuple[int, str, str, str]] = []
    for number, line in read_lines(path):
        # The long column 4 is split off whole, not scanned word by word.
        fields = line.split("\t", 3)
        if len(fields) not in (3, 4) or (len(fields) == 4 and "\t" in fields[3]):
            found = line.count("\t") + 1
            hint = " (a Kaldi text reference needs --biased-words)" if found == 1 else ""
            raise InputError(
                f"{path}:{number}: expected 4 tab-separated columns (id, text, rare words, "
                f"biasing list), found {found}{hint}"
            )
        if len(fields) == 4 and not (
            fields[3].startswith("[") and fields[3].rstrip().endswith("]")
        ):
            # The biasing list is not used for scoring: check its shape, not every word.
            raise InputError(f"{path}:{number}: column 4 is not a JSON list")
        rows.append((number, fields[0], fields[1], fields[2]))
    rare_lists = _json_word_lists([row[3] for row in rows], [row[0] for row in rows], path, 3)
    table: dict[str, tuple[str, list[str]]] = {}
    seen: dict[str, int] = {}
    for (number, utt, text, _), rare in zip(rows, rare_lists, strict=True):
        _store(table, utt, (text, rare), path, number, seen)
    return _require_nonempty(table, path, "is21 reference lines")


def _json_word_lists(
    fields: list[str], numbers: list[int], path: Pathlike, column: int
) -> list[list[str]]:
    """Parse a column of JSON word lists in one call (fast on a corpus); where that fails
    or does not give one list of strings per field, line by line, to name the bad line."""
    try:
        parsed = json.loads("[" + ",".join(fields) + "]")
    except json.JSONDecodeError:
        parsed = None
    if (
        isinstance(parsed, list)
        and len(parsed) == len(fields)
        and all(type(words) is list for words in parsed)
        and all(type(w) is str for words in parsed for w in words)
    ):
        return parsed
    return [_json_word_list(f, path, n, column) for f, n in zip(fields, numbers, strict=True)]


def read_is21_context(path: Pathlike) -> dict[str, list[str]]:
    """The biasing lists of an is21 reference TSV (column 4): ``{uttid: words}``."""
    table: dict[str, list[str]] = {}
    seen: dict[str, int] = {}
    for number, line in read_lines(path):
        fields = line.split("\t")
        if len(fields) != 4:
            raise InputError(
                f"{path}:{number}: expected 4 tab-separated columns (id, text, rare words, "
                f"biasing list), found {len(fields)}"
            )
        _store(table, fields[0], _json_word_list(fields[3], path, number, 4), path, number, seen)
    return _require_nonempty(table, path, "is21 reference lines")


def read_word_lists(path: Pathlike, separator: str | None = None) -> dict[str, list[str]]:
    """Read ``uttid item item ...`` lines (an utterance may have no items).

    Items are separated by white space, or by ``separator`` (e.g. ``$`` for OCR keyword
    files, whose keywords may hold spaces).
    """
    table: dict[str, list[str]] = {}
    seen: dict[str, int] = {}
    for number, line in read_lines(path):
        fields = line.split(maxsplit=1)
        rest = fields[1] if len(fields) > 1 else ""
        if separator is None:
            items = rest.split()
        else:
            items = [item.strip() for item in rest.split(separator) if item.strip()]
        _store(table, fields[0], items, path, number, seen)
    return _require_nonempty(table, path, "lines 'uttid item item ...'")


def read_utt2session(path: Pathlike) -> dict[str, str]:
    """Read a Kaldi-style ``utt2spk``-like map: ``uttid session``."""
    table: dict[str, str] = {}
    seen: dict[str, int] = {}
    for number, line in read_lines(path):
        fields = line.split()
        if len(fields) != 2:
            raise InputError(
                f"{path}:{number}: expected 2 columns (uttid session), found {len(fields)}"
            )
        _store(table, fields[0], fields[1], path, number, seen)
    return _require_nonempty(table, path, "lines 'uttid session'")
