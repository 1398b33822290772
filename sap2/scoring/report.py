"""Score reports: the human summary, the ``--json`` summary and the ``--details`` folder.

Files are written to a temporary name and renamed into place, so a failed run never
leaves a half-written report where a finished one is expected; the ``--details`` folder
holds the scorer's files only, and nothing else is ever replaced.
"""

import json
from collections import Counter
from pathlib import Path

from sap2.errors import InputError
from sap2.fileio import atomic_output, atomic_write_text, ensure_folder
from sap2.scoring.corpus import CorpusScore, UtteranceScore

Pathlike = str | Path


def format_summary(score: CorpusScore) -> str:
    """WER, U-WER and B-WER lines as in is21 ``.result`` files, then keywords if scored."""
    lines = [score.totals.format()]
    if score.keywords is not None:
        lines.append(score.keywords.format())
    if score.pruning is not None:
        lines.append(score.pruning.format("Pruning"))
    if score.false_alarms is not None:
        lines.append(score.false_alarms.format())
    return "\n".join(lines)


def summary_dict(score: CorpusScore) -> dict:
    """The ``--json`` summary (counts, with ``error_rate`` in percent)."""
    summary: dict = {
        "protocol": score.protocol,
        "utterances": len(score.utterances),
        "wer": score.totals.wer.to_dict(),
        "u_wer": score.totals.u_wer.to_dict(),
        "b_wer": score.totals.b_wer.to_dict(),
    }
    if score.keywords is not None:
        summary["keywords"] = score.keywords.to_dict()
    if score.pruning is not None:
        summary["pruning"] = score.pruning.to_dict()
    if score.false_alarms is not None:
        summary["false_alarms"] = score.false_alarms.to_dict()
    if score.sessions is not None:
        summary["sessions"] = {name: c.to_dict() for name, c in sorted(score.sessions.items())}
    return summary


def write_json(score: CorpusScore, path: Pathlike, provenance: dict | None = None) -> None:
    """Write :func:`summary_dict` (and ``provenance``, see :mod:`sap2.provenance`) to
    ``path`` atomically."""
    summary = summary_dict(score)
    if provenance is not None:
        summary["provenance"] = provenance
    atomic_write_text(path, json.dumps(summary, indent=2) + "\n")


def format_alignment(utt: UtteranceScore) -> str:
    """An sclite-like block: reference over hypothesis, gaps as ``*``, S/I/D marks below."""
    ref_row, hyp_row, eval_row = [], [], []
    i = j = 0
    for op in utt.ops:
        r = h = ""
        if op != "I":
            r = utt.ref[i]
            i += 1
        if op != "D":
            h = utt.hyp[j]
            j += 1
        width = max(len(r), len(h), 1)
        ref_row.append((r or "*" * width).ljust(width))
        hyp_row.append((h or "*" * width).ljust(width))
        eval_row.append(("" if op == "C" else op).ljust(width))
    c = utt.counts.wer
    correct = c.ref_words - c.subs - c.dels
    lines = [
        f"id: {utt.utt_id}",
        f"Scores: (#C #S #D #I) {correct} {c.subs} {c.dels} {c.ins}",
        "REF:  " + " ".join(ref_row),
        "HYP:  " + " ".join(hyp_row),
        "Eval: " + " ".join(eval_row).rstrip(),
    ]
    if utt.biased:
        lines.append("Biased: " + " ".join(sorted(utt.biased)))
    return "\n".join(lines) + "\n"


def _edits(score: CorpusScore) -> tuple[Counter, Counter, Counter]:
    """Counters of substitution pairs, deleted words and inserted words."""
    subs: Counter = Counter()
    dels: Counter = Counter()
    ins: Counter = Counter()
    for utt in score.utterances:
        i = j = 0
        for op in utt.ops:
            if op == "S":
                subs[(utt.ref[i], utt.hyp[j])] += 1
            elif op == "D":
                dels[utt.ref[i]] += 1
            elif op == "I":
                ins[utt.hyp[j]] += 1
            i += op != "I"
            j += op != "D"
    return subs, dels, ins


def format_confusions(score: CorpusScore) -> str:
    """Substitution pairs, deletions and insertions, most frequent first."""
    subs, dels, ins = _edits(score)
    out = ["# substitutions: count ref -> hyp"]
    out += [f"{n}\t{r} -> {h}" for (r, h), n in subs.most_common()]
    out.append("# deletions: count word")
    out += [f"{n}\t{w}" for w, n in dels.most_common()]
    out.append("# insertions: count word")
    out += [f"{n}\t{w}" for w, n in ins.most_common()]
    return "\n".join(out) + "\n"


def format_keyword_recall(score: CorpusScore) -> str:
    """Per biased word: reference occurrences, correctly recognised, recall in percent."""
    seen: Counter = Counter()
    hit: Counter = Counter()
    for utt in score.utterances:
        i = 0
        for op in utt.ops:
            if op == "I":
                continue
            word = utt.ref[i]
            i += 1
            if word in utt.biased:
                seen[word] += 1
                hit[word] += op == "C"
    out = ["# word\tref_count\tcorrect\trecall"]
    for word, n in sorted(seen.items(), key=lambda kv: (-kv[1], kv[0])):
        out.append(f"{word}\t{n}\t{hit[word]}\t{100 * hit[word] / n:.2f}")
    return "\n".join(out) + "\n"


#: The files of a ``--details`` folder; it holds nothing else.
DETAIL_FILES = (
    "alignments.txt", "confusions.txt", "keyword_recall.txt", "sessions.txt", "false_alarms.txt"
)  # fmt: skip


def check_details_folder(out_dir: Pathlike) -> None:
    """Refuse (:class:`InputError`) a ``--details`` target that is a file or a folder
    holding anything but :data:`DETAIL_FILES`: the scorer writes only its own files."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"{out_dir}: is a file; --details needs a folder of its own")
    if out_dir.is_dir():
        others = sorted(p.name for p in out_dir.iterdir() if p.name not in DETAIL_FILES)
        if others:
            raise InputError(
                f"{out_dir}: holds files that are not score details ({', '.join(others[:3])}); "
                "--details needs a new folder or one that it wrote"
            )


def write_details(score: CorpusScore, out_dir: Pathlike) -> None:
    """Write ``alignments.txt``, ``confusions.txt``, ``keyword_recall.txt`` (and
    ``sessions.txt`` / ``false_alarms.txt`` when sessions / false alarms were scored) to
    ``out_dir``, each atomically; such a file of an earlier run is removed when this run
    did not score it. See :func:`check_details_folder` for what is refused."""
    check_details_folder(out_dir)
    out_dir = ensure_folder(out_dir)
    with atomic_output(out_dir / "alignments.txt") as tmp, open(tmp, "w", encoding="utf-8") as f:
        for utt in score.utterances:
            f.write(format_alignment(utt) + "\n")
    atomic_write_text(out_dir / "confusions.txt", format_confusions(score))
    atomic_write_text(out_dir / "keyword_recall.txt", format_keyword_recall(score))
    if score.sessions is not None:
        lines = [c.format(name) for name, c in sorted(score.sessions.items())]
        atomic_write_text(out_dir / "sessions.txt", "\n".join(lines) + "\n")
    else:
        (out_dir / "sessions.txt").unlink(missing_ok=True)
    if score.false_alarms is not None:
        atomic_write_text(out_dir / "false_alarms.txt", score.false_alarms.format_words())
    else:
        (out_dir / "false_alarms.txt").unlink(missing_ok=True)
