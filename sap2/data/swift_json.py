"""The ms-swift JSON of the SAP² authors' published metadata, to and from lhotse cuts.

One record per utterance, as their fork of ms-swift reads it (the bare ``<audio>`` tag
stands for the file in ``audios``)::

    {"messages": [{"role": "user", "content": "<audio>PROMPT"},
                  {"role": "assistant", "content": "TARGET"}],
     "audios": ["/path.wav"]}

``PROMPT`` is one of the prompts of :mod:`sap2.model.prompts` with its context span and
``TARGET`` the matching target. Files are a JSON array (``.json``) or one record per line
(``.jsonl``). Import reads what the authors' scripts write as well: the audio path in an
``<audio>/path.wav</audio>`` tag or in ``audios`` (a string or a list of one), the older
``conversations`` form (``from``/``value``), keywords joined by ``, `` or spaces, with or
without the context span, and the variants of the prompts in their notebook
(:data:`PROMPT_VARIANTS`, its ``Transcibe`` spelling included). Import gives cuts with
the custom fields ``task``, ``context`` and ``keywords``; exporting such cuts (``task``
None) writes each with its own task and keywords, so that import -> export -> import
keeps every field.
"""

import json
import re
from pathlib import Path

from lhotse import CutSet, MonoCut, Recording, SupervisionSegment

from sap2.data.manifests import BadItems
from sap2.errors import InputError
from sap2.fileio import atomic_write_text
from sap2.model.configuration_sap2 import CONTEXT_END_TOKEN, CONTEXT_START_TOKEN
from sap2.model.prompts import (
    NO_KEYWORDS,
    PromptTexts,
    Task,
    heard_keywords,
    parse_keywords,
    parse_multitask,
    target_text,
)

Pathlike = str | Path

_AUDIO_TAG = re.compile(r"^<audio>(.*?)</audio>", re.S)

#: The cut field each task takes its context from when exporting.
DEFAULT_CONTEXT_FIELD = {
    Task.TRANSCRIBE: None,
    Task.TRANSCRIBE_CONTEXT: "ocr_keywords",
    Task.PRUNE: "context",
    Task.MULTITASK: "context",
}

#: Prompt texts of the authors' notebook (``data_preprocess.ipynb``) besides ours.
PROMPT_VARIANTS = {
    Task.TRANSCRIBE: ("Transcribe speech to text",),
    Task.TRANSCRIBE_CONTEXT: (
        "Transcibe speech to text according to keywords may appear in the utterance. "
        "Possible keywords are: ",
        "Transcibe speech to text according to keywords may appear in the utterance. "
        "Possible key words are: ",
    ),
    Task.PRUNE: (
        "Select key words that may appear in the speech from the following keywords list: ",
    ),
    Task.MULTITASK: (),
}


def export_swift_json(
    cuts: CutSet,
    task: Task | None,
    out_path: Pathlike,
    audio_dir: Pathlike,
    context_field: str | None = None,
    prompts: PromptTexts | None = None,
) -> int:
    """Write one record per cut; returns the number of records.

    ``task`` None: each cut's own ``task`` field, its ``context`` and, where it has
    them, its ``keywords`` (cuts made by :func:`import_swift_json`); else the keywords
    are the context words heard in the transcript. A cut that covers its whole recording
    points at the recording's file; any other (a segment of a talk) is written to
    ``audio_dir/<cut id>.wav``. A cut without the context field (or, with ``task`` None,
    without a ``task``) raises :class:`InputError` before anything is written.
    """
    prompts = prompts or PromptTexts()
    plan = []
    for cut in cuts:
        if task is None and not cut.has_custom("task"):
            raise InputError(f"cut '{cut.id}' has no custom field 'task' (give --task)")
        this = Task(task if task is not None else cut.custom["task"])
        field = context_field if context_field is not None else DEFAULT_CONTEXT_FIELD[this]
        if task is None and context_field is None:
            field = "context" if this is not Task.TRANSCRIBE else None
        if field and not cut.has_custom(field):
            raise InputError(f"cut '{cut.id}' has no custom field '{field}' (--context-field)")
        plan.append((cut, this, field))
    records = []
    for cut, this, field in plan:
        audio = _audio_path(cut, Path(audio_dir))
        transcript = cut.supervisions[0].text or ""
        context = list(cut.custom[field]) if field else []
        keywords = heard_keywords(context, transcript)
        if task is None and cut.has_custom("keywords"):
            keywords = list(cut.custom["keywords"])
        records.append(
            {
                "messages": [
                    {"role": "user", "content": "<audio>" + prompts.user_prompt(this, context)},
                    {"role": "assistant", "content": target_text(this, transcript, keywords)},
                ],
                "audios": [str(audio)],
            }
        )
    if Path(out_path).suffix == ".jsonl":
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    else:
        text = json.dumps(records, ensure_ascii=False, indent=1) + "\n"
    atomic_write_text(out_path, text)
    return len(records)


def _audio_path(cut: MonoCut, audio_dir: Path) -> Path:
    source = cut.recording.sources[0]
    whole = cut.start == 0 and abs(cut.duration - cut.recording.duration) < 1e-3
    if whole and source.type == "file" and len(cut.recording.sources) == 1:
        return Path(source.source).resolve()
    path = (audio_dir / f"{cut.id}.wav").resolve()
    if not path.is_file():
        audio_dir.mkdir(parents=True, exist_ok=True)
        cut.save_audio(path)
    return path


def read_swift_records(path: Pathlike) -> list[dict]:
    """Records of a ``.json`` array or a ``.jsonl`` file, with line or index in errors."""
    if not Path(path).is_file():
        raise InputError(f"{path}: no such file")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise InputError(f"{path}: not UTF-8 text (byte {err.start})") from None
    try:
        if Path(path).suffix == ".jsonl":
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        records = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(f"{path}:{err.lineno}: not valid JSON ({err.msg})") from None
    if not isinstance(records, list):
        raise InputError(f"{path}: expected a JSON array of records")
    return records


def parse_prompt(user: str, prompts: PromptTexts) -> tuple[Task, list[str]]:
    """The task and context words of a user prompt (audio tag removed): ours or one of
    :data:`PROMPT_VARIANTS`, the context in a span or (older files) after the prompt,
    keywords joined by ``, `` or spaces."""
    head, start, rest = user.partition(CONTEXT_START_TOKEN)
    context_text, end, _ = rest.partition(CONTEXT_END_TOKEN)
    if start and not end:
        raise ValueError("the prompt has <|startofcontext|> but no <|endofcontext|>")
    for task in Task:
        for prefix in (prompts.prefix(task), *PROMPT_VARIANTS[task]):
            if start and head.strip() == prefix.strip():
                return task, _words(context_text)
            if not start and task is Task.TRANSCRIBE and user.strip() in (prefix, prefix + "."):
                return task, []
            if not start and task is not Task.TRANSCRIBE and user.startswith(prefix.strip()):
                return task, _words(user[len(prefix.strip()) :])
    raise ValueError(f"unknown prompt {head[:60]!r}")


def _words(text: str) -> list[str]:
    """Context words of a span: comma- or space-separated (``none`` is not a word)."""
    words = parse_keywords(text)
    return words if words or text.strip().lower() != NO_KEYWORDS else []


def import_swift_json(
    path: Pathlike, skip_bad: bool = False, prompts: PromptTexts | None = None
) -> CutSet:
    """Cuts (one per record) with custom ``task``, ``context`` and ``keywords``.

    A keywords prompt whose target has the ``Keywords: ... Transcription: ...`` form is
    the multitask task. Records with a bad structure, an unknown prompt or missing audio
    fail naming their index (or are left out with ``skip_bad``).
    """
    prompts = prompts or PromptTexts()
    bad = BadItems(skip_bad)
    cuts, seen = [], set()
    for index, record in enumerate(read_swift_records(path)):
        try:
            user, target, audio = _fields(record)
            task, context = parse_prompt(user, prompts)
        except (ValueError, TypeError, KeyError) as err:
            bad.add("malformed records", f"#{index} ({err})")
            continue
        keywords: list[str] = []
        transcript = target
        multitask = parse_multitask(target)
        if task is Task.PRUNE:
            keywords, transcript = parse_keywords(target), ""
        elif task in (Task.TRANSCRIBE_CONTEXT, Task.MULTITASK) and multitask is not None:
            task = Task.MULTITASK  # (an older multitask file used the keywords prompt)
            keywords, transcript = multitask
        elif task is Task.MULTITASK:
            bad.add("malformed records", f"#{index} (a multitask target without Transcription:)")
            continue
        try:
            recording = Recording.from_file(audio, recording_id=Path(audio).stem)
        except Exception as err:  # missing file or unreadable audio, several types
            bad.add("records with unreadable audio", f"#{index} {audio} ({type(err).__name__})")
            continue
        cut_id = recording.id if recording.id not in seen else f"{recording.id}-{index}"
        seen.add(cut_id)
        supervision = SupervisionSegment(
            id=cut_id, recording_id=recording.id, start=0.0, duration=recording.duration,
            channel=0, text=transcript,
        )  # fmt: skip
        cuts.append(
            MonoCut(
                id=cut_id,
                start=0.0,
                duration=recording.duration,
                channel=0,
                recording=recording,
                supervisions=[supervision],
                custom={"task": task.value, "context": context, "keywords": keywords},
            )  # fmt: skip
        )
    bad.check(str(path))
    return CutSet.from_cuts(cuts)


def _fields(record: dict) -> tuple[str, str, str]:
    """(user prompt without the audio tag, assistant target, audio path) of a record in
    the ``messages`` or the older ``conversations`` form."""
    if "messages" in record:
        turns = {m["role"]: m["content"] for m in record["messages"]}
    else:
        turns = {c["from"]: c["value"] for c in record["conversations"]}
    user, target = turns["user"], turns.get("assistant", turns.get("gpt"))
    if not isinstance(user, str) or not isinstance(target, str):
        raise ValueError("no user and assistant texts")
    audios = record.get("audios")
    if isinstance(audios, list):
        audios = audios[0] if len(audios) == 1 else None
    tag = _AUDIO_TAG.match(user)
    if tag:
        user, audio = user[tag.end() :], audios or tag.group(1)
    else:
        user, audio = user.removeprefix("<audio>"), audios
    if not audio:
        raise ValueError("no audio path (neither 'audios' nor an <audio>PATH</audio> tag)")
    return user, target, audio
