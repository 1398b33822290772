"""The output files of a decoding folder and the merge of ``JOB=1:N`` job folders.

- ``hyp.jsonl``: one JSON record per utterance, appended as batches finish: ``id``,
  ``hyp``, ``keywords`` where the mode predicts them, and what the utterance cost
  (``audio_seconds``, ``decode_seconds``: its batch's time shared by audio duration,
  ``new_tokens``, ``context_tokens``, and ``peak_memory_gb``: the decoding process's
  peak resident memory so far), so that statistics add up over resumed runs;
- ``decode_options.json``: the options that produced the folder; a rerun with other
  options is refused (:func:`check_options`);
- ``context.txt``: the context each utterance was given (``uttid WORD$WORD$...``, the
  ``--context`` of ``sap2-score --context-format keywords``), where the mode reads one;
- ``hyp.txt`` (Kaldi text), ``keywords.txt`` (``uttid KW$KW$...``) and
  ``decode_stats.json`` (:func:`decode_stats`, with the ``provenance`` of
  :func:`decode_provenance`), rewritten from ``hyp.jsonl``.

Kept apart from the decoder so that merging (``sap2-merge-decodes``) imports no model code.
"""

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path

from sap2.errors import InputError
from sap2.fileio import atomic_write_text
from sap2.provenance import library_versions, model_hashes, run_provenance
from sap2.scoring.readers import read_word_lists

OPTIONS_FILE = "decode_options.json"
#: Recorded for the reader, not compared: the folders a model was read from may move (the
#: ``model`` fingerprint of :func:`sap2.model.loading.model_fingerprint` is compared).
WHERE_FROM = ("model_dir", "adapter")


def read_done(path: Path) -> dict[str, dict]:
    """Records already in ``hyp.jsonl``. A torn last line (a kill while writing: no
    newline at its end) is ignored; any other line that is not a JSON object with an
    ``id`` raises :class:`InputError` naming the file and line."""
    done: dict[str, dict] = {}
    if not path.is_file():
        return done
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None
    lines = text.split("\n")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            if number == len(lines):  # the last line, unterminated: torn by a kill
                continue
            raise InputError(f"{path}:{number}: not a JSON record") from None
        if not isinstance(record, dict) or not isinstance(record.get("id"), str):
            raise InputError(f"{path}:{number}: expected a JSON object with an 'id'")
        if not isinstance(record.get("hyp"), str):
            raise InputError(f"{path}:{number}: record '{record['id']}' has no 'hyp' text")
        done[record["id"]] = record
    return done


def jsonl_text(records: Sequence[dict]) -> str:
    """Records as ``hyp.jsonl`` lines."""
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def check_options(out_dir: Path, options: dict) -> None:
    """Refuse to add to a folder decoded with other options (one line, what differs);
    a folder with results but no record of its options is refused too."""
    path = out_dir / OPTIONS_FILE
    if path.is_file():
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise InputError(f"{path}: not a JSON record of decoding options") from None
        differ = [
            f"{k} {saved.get(k)!r} -> {v!r}"
            for k, v in options.items()
            if saved.get(k) != v and k not in (*WHERE_FROM, "model")
        ]
        if saved.get("model") != options.get("model"):
            where = ", ".join(f"{k} {saved.get(k)}" for k in WHERE_FROM if saved.get(k))
            differ.insert(0, f"another model than {where or 'the one recorded'}")
        if differ:
            raise InputError(
                f"{out_dir}: decoded with other options ({'; '.join(differ)}); "
                "use another --out-dir"
            )
        return
    if (out_dir / "hyp.jsonl").is_file():
        raise InputError(
            f"{out_dir}: has hyp.jsonl but no {OPTIONS_FILE}, so its options are unknown; "
            "use another --out-dir"
        )


def options_record(options) -> dict:
    """The fields of a decoding options dataclass that change results, for
    ``decode_options.json``: all but ``max_duration`` (which only batches), and no
    ``context_field`` where the mode reads no context."""
    record = dataclasses.asdict(options)
    del record["max_duration"]
    if record.get("mode") == "no_context":
        record["context_field"] = None
    return record


def record_options(out_dir: Path, options: dict) -> None:
    """Write ``decode_options.json`` (see :func:`check_options`)."""
    atomic_write_text(out_dir / OPTIONS_FILE, json.dumps(options, indent=2) + "\n")


def decode_provenance(command: Sequence[str] | None, options: dict, cuts_path: str | Path) -> dict:
    """What produced a decoding folder: code version, command, the cuts manifest's hash,
    the hashes of the model's config and the adapter's weights (``options['model_dir']``,
    ``options['adapter']``), the decoding options and the torch / transformers versions."""
    return run_provenance(
        command,
        {"cuts": cuts_path},
        **model_hashes(options["model_dir"], options.get("adapter")),
        options=options,
        versions=library_versions(),
    )


def read_provenance(out_dir: Path) -> dict | None:
    """The ``provenance`` of a folder's ``decode_stats.json``, if it has one."""
    try:
        stats = json.loads((out_dir / "decode_stats.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    return stats.get("provenance") if isinstance(stats, dict) else None


def decode_stats(records: Sequence[dict]) -> dict:
    """Real-time factor, generated tokens per second, mean context positions read per
    utterance and peak memory, over ``records`` (those that carry their costs)."""
    costed = [r for r in records if "decode_seconds" in r]
    audio = sum(r["audio_seconds"] for r in costed)
    seconds = sum(r["decode_seconds"] for r in costed)
    return {
        "utterances": len(records),
        "audio_seconds": audio,
        "decode_seconds": seconds,
        "rtf": seconds / audio if audio else None,
        "tokens_per_second": sum(r["new_tokens"] for r in costed) / seconds if seconds else None,
        "context_tokens": (
            sum(r["context_tokens"] for r in costed) / len(costed) if costed else None
        ),
        "peak_memory_gb": max((r.get("peak_memory_gb", 0.0) for r in costed), default=None),
    }


def write_outputs(results: dict[str, dict], out_dir: Path, **extra_stats) -> dict:
    """``hyp.txt``, ``decode_stats.json`` and, when keywords were predicted,
    ``keywords.txt``, sorted by id; returns the statistics."""
    ordered = [results[k] for k in sorted(results)]
    atomic_write_text(out_dir / "hyp.txt", "".join(f"{r['id']} {r['hyp']}\n" for r in ordered))
    if any("keywords" in r for r in ordered):
        atomic_write_text(
            out_dir / "keywords.txt",
            "".join(f"{r['id']} {'$'.join(r.get('keywords', []))}\n" for r in ordered),
        )
    stats = {**decode_stats(ordered), **extra_stats}
    atomic_write_text(out_dir / "decode_stats.json", json.dumps(stats, indent=2) + "\n")
    return stats


CONTEXT_FILE = "context.txt"


def write_context(out_dir: Path, contexts: dict[str, Sequence[str]]) -> None:
    """Write ``context.txt``: ``{uttid: words}`` as ``uttid WORD$WORD$...``, sorted by id."""
    lines = "".join(f"{utt} {'$'.join(contexts[utt])}\n" for utt in sorted(contexts))
    atomic_write_text(out_dir / CONTEXT_FILE, lines)


def merge_outputs(parts: Sequence[str | Path], out_dir: str | Path) -> int:
    """Concatenate the ``hyp.jsonl`` of job folders into ``out_dir`` (``JOB=1:N``
    decoding); the jobs must have been decoded with the same options, which the merged
    folder records. Returns the number of utterances."""
    merged: dict[str, dict] = {}
    options = None
    provenance = None
    contexts: dict[str, list[str]] | None = {}
    for part in parts:
        provenance = provenance or read_provenance(Path(part))
        path = Path(part) / "hyp.jsonl"
        if not path.is_file():
            raise InputError(f"{path}: missing; did decoding job {part} finish?")
        merged.update(read_done(path))
        if contexts is not None and (Path(part) / CONTEXT_FILE).is_file():
            contexts.update(read_word_lists(Path(part) / CONTEXT_FILE, separator="$"))
        else:
            contexts = None  # a job decoded without context: so did all
        part_options = Path(part) / OPTIONS_FILE
        if part_options.is_file():
            try:
                these = json.loads(part_options.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise InputError(f"{part_options}: not a JSON record of decoding options") from None
            if options is not None and these != options:
                raise InputError(f"{part_options}: other options than the jobs before it")
            options = these
    out_dir = Path(out_dir)
    if options is not None:
        check_options(out_dir, options)
        record_options(out_dir, options)
    atomic_write_text(out_dir / "hyp.jsonl", jsonl_text([merged[k] for k in sorted(merged)]))
    if contexts:
        write_context(out_dir, contexts)
    extra = {"provenance": provenance} if provenance else {}
    write_outputs(merged, out_dir, jobs=len(parts), **extra)
    return len(merged)
