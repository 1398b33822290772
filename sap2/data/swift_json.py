"""The ms-swift JSON of the SAP² authors' published metadata, to and from lhotse cuts.

One record per utterance::

    {"messages": [{"role": "user", "content": "<audio>/path.wav</audio>PROMPT"},
                  {"role": "assistant", "content": "TARGET"}],
     "audios": "/path.wav"}

``PROMPT`` is one of the prompts of :mod:`sap2.model.prompts` with its context span and
``TARGET`` the matching target. Files are a JSON array (``.json``) or one record per line
(``.jsonl``). Import gives cuts with the custom fields ``task``, ``context`` and
``keywords``, so a user can start from the published metadata and compare prompts one
to one.
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


def export_swift_json(
    cuts: CutSet,
    task: Task,
    out_path: Pathlike,
    audio_dir: Pathlike,
    context_field: str | None = None,
    prompts: PromptTexts | None = None,
) -> int:
    """Write one record per cut; returns the number of records.

    A cut that covers its whole recording points at the recording's file; any other
    (a segment of a talk) is written to ``audio_dir/<cut id>.wav``. A cut without the
    context field raises :class:`InputError` before anything is written.
    """
    task = Task(task)
    prompts = prompts or PromptTexts()
    field = context_field if context_field is not None else DEFAULT_CONTEXT_FIELD[task]
    for cut in cuts if field else []:
        if not cut.has_custom(field):
            raise InputError(f"cut '{cut.id}' has no custom field '{field}' (--context-field)")
    records = []
    for cut in cuts:
        audio = _audio_path(cut, Path(audio_dir))
        transcript = cut.supervisions[0].text or ""
        context = list(cut.custom[field]) if field else []
        user = f"<audio>{audio}</audio>{prompts.user_prompt(task, context)}"
        target = target_text(task, transcript, heard_keywords(context, transcript))
        records.append(
            {
                "messages": [
                    {"role": "user", "content": user},
                    {"role": "assistant", "content": target},
                ],
                "audios": str(audio),
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
    """The task and context words of a user prompt (audio tag removed)."""
    head, start, rest = user.partition(CONTEXT_START_TOKEN)
    context_text, end, _ = rest.partition(CONTEXT_END_TOKEN)
    if not start or not end:
        raise ValueError("the prompt has no <|startofcontext|>...<|endofcontext|> span")
    for task, prefix in (
        (Task.TRANSCRIBE, prompts.transcribe),
        (Task.TRANSCRIBE_CONTEXT, prompts.transcribe_context),
        (Task.PRUNE, prompts.prune),
    ):
        if head == prefix:
            return task, context_text.split()
    raise ValueError(f"unknown prompt {head[:60]!r}")


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
        if task is Task.PRUNE:
            keywords, transcript = parse_keywords(target), ""
        elif task is Task.TRANSCRIBE_CONTEXT and target.startswith("Keywords:"):
            task = Task.MULTITASK
            keywords, transcript = parse_multitask(target)
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
    """(user prompt without the audio tag, assistant target, audio path) of a record."""
    messages = {m["role"]: m["content"] for m in record["messages"]}
    user, target = messages["user"], messages["assistant"]
    tag = _AUDIO_TAG.match(user)
    audios = record.get("audios")
    if isinstance(audios, list):
        audios = audios[0] if len(audios) == 1 else None
    audio = audios or (tag.group(1) if tag else None)
    if not audio:
        raise ValueError("no audio path (neither 'audios' nor an <audio> tag)")
    return (user[tag.end() :] if tag else user), target, audio
