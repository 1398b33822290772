"""Prompt texts, targets and the batch encoding of examples."""

import numpy as np
import pytest

from sap2.model.processor import IGNORE_INDEX, Example, encode_batch, load_processor
from sap2.model.prompts import (
    ParsedOutput,
    PromptTexts,
    Task,
    parse_keywords,
    parse_multitask,
    parse_output,
    target_text,
)


def test_default_prompts_are_those_of_the_public_code():
    p = PromptTexts()
    assert p.user_prompt(Task.TRANSCRIBE) == (
        "Transcribe speech to text.<|startofcontext|><|endofcontext|>"
    )
    assert p.user_prompt(Task.TRANSCRIBE_CONTEXT, ["k1", "k2", "k3"]) == (
        "Transcribe speech to text according to keywords may appear in the utterance. "
        "Possible keywords are: <|startofcontext|>k1 k2 k3<|endofcontext|>"
    )
    assert p.user_prompt(Task.PRUNE, ["a", "b"]) == (
        "Select keywords that may appear in the speech from the following keywords list: "
        "<|startofcontext|>a b<|endofcontext|>"
    )
    assert p.user_prompt("multitask", ["a"]) == (  # the notebook's, not the keywords prompt
        "First select keywords that may appear in the speech from given keywords list. Then "
        "Transcribe speech to text according to selected keywords. Keywords are: "
        "<|startofcontext|>a<|endofcontext|>"
    )
    assert len({p.prefix(task) for task in Task}) == len(Task)


@pytest.mark.parametrize(
    "task, keywords, expected",
    [
        (Task.TRANSCRIBE, ["x"], "the text"),
        (Task.TRANSCRIBE_CONTEXT, ["x"], "the text"),
        (Task.PRUNE, ["k1", "k2"], "k1 k2"),
        (Task.PRUNE, [], "none"),
        (Task.MULTITASK, ["k1", "k2"], "Selected keywords are: k1, k2.\nTranscription: the text"),
        (Task.MULTITASK, [], "Selected keywords are: none.\nTranscription: the text"),
    ],
)
def test_targets(task, keywords, expected):
    assert target_text(task, "the text", keywords) == expected


def test_parsing_outputs():
    assert parse_keywords(" none ") == [] and parse_keywords("a b") == ["a", "b"]
    assert parse_keywords("a, b c") == ["a", "b c"]  # the notebook's joining; phrases kept
    target = target_text(Task.MULTITASK, "the a b", ["a", "b"])
    assert parse_multitask(target) == (["a", "b"], "the a b")
    assert parse_multitask("Keywords: a b Transcription: the a b") == (["a", "b"], "the a b")
    assert parse_multitask("Selected keywords are: none.\nTranscription: hi") == ([], "hi")
    assert parse_multitask("just words") is None


@pytest.mark.parametrize(
    "task, output, transcript, keywords, problem",
    [
        (Task.TRANSCRIBE, "hello there", "hello there", (), None),
        (Task.TRANSCRIBE_CONTEXT, "Selected keywords are: a.\nTranscription: a b", "", (),
         "multitask answer to a transcription prompt"),
        (Task.TRANSCRIBE_CONTEXT, "Keywords: a", "", (),
         "multitask answer to a transcription prompt"),
        (Task.PRUNE, "a b", "", ("a", "b"), None),
        (Task.PRUNE, "Keywords: a Transcription: a b", "", ("a",), "multitask answer to pruning"),
        (Task.MULTITASK, "Selected keywords are: a.\nTranscription: a b", "a b", ("a",), None),
        (Task.MULTITASK, "a b", "", (), "multitask output without 'Transcription:'"),
    ],
)  # fmt: skip
def test_outputs_of_the_wrong_shape_are_never_words(task, output, transcript, keywords, problem):
    assert parse_output(task, output) == ParsedOutput(transcript, keywords, problem)


def test_encode_batch_labels_cover_only_the_target(tiny_model_dir):
    processor = load_processor(tiny_model_dir)
    tok = processor.tokenizer
    audio = np.zeros(8000, dtype=np.float32)
    examples = [
        Example(audio, Task.PRUNE, ["fox", "dog"], keywords=["dog"]),
        Example(audio, Task.MULTITASK, ["fox"], "the quick fox", ["fox"]),
    ]
    batch = encode_batch(processor, examples, with_targets=True)
    for b, ex in enumerate(examples):
        labels = batch["labels"][b]
        target = labels[labels != IGNORE_INDEX].tolist()
        assert tok.decode(target) == target_text(ex.task, ex.transcript, ex.keywords) + "<|im_end|>"
        n = int(batch["attention_mask"][b].sum())
        assert batch["input_ids"][b, n - len(target) : n].tolist() == target
        prompt = batch["input_ids"][b, : n - len(target)].tolist()
        header = tok("<|im_start|>assistant\n", add_special_tokens=False)["input_ids"]
        assert prompt[-len(header) :] == header
        audio_tokens = tok.convert_tokens_to_ids(["<|audio_bos|>", "<|AUDIO|>"])
        assert prompt[prompt.index(audio_tokens[0]) + 1] == audio_tokens[1]
    generation = encode_batch(processor, examples, with_targets=False)
    assert "labels" not in generation
    assert set(generation) >= {"input_ids", "attention_mask", "input_features"}
