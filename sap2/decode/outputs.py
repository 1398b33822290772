"""The output files of a decoding folder: ``hyp.jsonl`` (one JSON record per utterance,
appended as batches finish), ``hyp.txt`` (Kaldi text), ``keywords.txt`` (``uttid
KW$KW$...``) and ``decode_stats.json``; and the merge of ``JOB=1:N`` job folders.

Kept apart from the decoder so that merging (``sap2-decode --merge``) imports no model code.
"""

import json
from collections.abc import Sequence
from pathlib import Path

from sap2.errors import InputError
from sap2.fileio import atomic_write_text


def read_done(path: Path) -> dict[str, dict]:
    """Results already in ``hyp.jsonl`` (a torn last line from a kill is ignored)."""
    done: dict[str, dict] = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            done[record["id"]] = record
    return done


def write_outputs(results: dict[str, dict], out_dir: Path) -> None:
    """``hyp.txt`` and, when keywords were predicted, ``keywords.txt``, sorted by id."""
    ordered = [results[k] for k in sorted(results)]
    atomic_write_text(out_dir / "hyp.txt", "".join(f"{r['id']} {r['hyp']}\n" for r in ordered))
    if any("keywords" in r for r in ordered):
        atomic_write_text(
            out_dir / "keywords.txt",
            "".join(f"{r['id']} {'$'.join(r.get('keywords', []))}\n" for r in ordered),
        )


def merge_outputs(parts: Sequence[str | Path], out_dir: str | Path) -> int:
    """Concatenate the ``hyp.jsonl`` of job folders into ``out_dir`` (``JOB=1:N`` decoding)
    and add up their ``decode_stats.json`` (the RTF is summed job time over audio)."""
    merged: dict[str, dict] = {}
    for part in parts:
        path = Path(part) / "hyp.jsonl"
        if not path.is_file():
            raise InputError(f"{path}: missing; did decoding job {part} finish?")
        merged.update(read_done(path))
    out_dir = Path(out_dir)
    stats = [json.loads(p.read_text()) for p in (Path(d) / "decode_stats.json" for d in parts)
             if p.is_file()]  # fmt: skip
    if stats:
        audio = sum(s["audio_seconds"] for s in stats)
        seconds = sum(s["decode_seconds"] for s in stats)
        utterances = sum(s["utterances"] for s in stats)
        context = sum(s["utterances"] * (s.get("context_tokens") or 0) for s in stats)
        total = {
            "utterances": utterances,
            "audio_seconds": audio,
            "decode_seconds": seconds,
            "rtf": seconds / audio if audio else None,
            "context_tokens": context / utterances if utterances else None,
            "jobs": len(stats),
        }
        atomic_write_text(out_dir / "decode_stats.json", json.dumps(total, indent=2) + "\n")
    atomic_write_text(
        out_dir / "hyp.jsonl",
        "".join(json.dumps(merged[k], ensure_ascii=False) + "\n" for k in sorted(merged)),
    )
    write_outputs(merged, out_dir)
    return len(merged)
