"""The SlideSpeech protocol: tokens, the worked example of scoring.md, keyword counts."""

import json

import pytest

from sap2.errors import InputError
from sap2.scoring.keywords import count_keywords
from sap2.scoring.normalize import get_normalizer
from sap2.scoring.slidespeech import score_slidespeech, tokenize

REFS = {"id1": "NI HAO WO MEN NI HAO", "id2": "NI HAO WO MEN"}
HYPS = {"id1": "NI HAO WO MEN WO", "id2": "NI HAO IO MEN"}
OCR = {"id1": ["HAO", "MEN", "OTHER"], "id2": ["HAO", "WO", "OTHER"]}


def test_tokenize_upper_cases_drops_marks_and_splits_ideographs():
    assert tokenize("Hello, world!  how's it?") == ["HELLO", "WORLD", "HOW'S", "IT"]
    assert tokenize("我们use GPU，好吗？") == ["我", "们", "USE", "GPU", "好", "吗"]
    assert tokenize("「深度」learning。") == ["深", "度", "LEARNING"]
    assert tokenize(" , ! ") == []


def test_worked_example_of_scoring_md():
    score = score_slidespeech(REFS, HYPS, OCR)
    t = score.totals
    assert (t.wer.ref_words, t.wer.subs, t.wer.ins, t.wer.dels) == (10, 2, 0, 1)
    assert (t.u_wer.ref_words, t.u_wer.subs, t.u_wer.ins, t.u_wer.dels) == (5, 1, 0, 0)
    assert (t.b_wer.ref_words, t.b_wer.subs, t.b_wer.ins, t.b_wer.dels) == (5, 1, 0, 1)
    assert t.wer.error_rate == 30.0 and t.u_wer.error_rate == 20.0 and t.b_wer.error_rate == 40.0
    k = score.keywords
    assert (k.tp, k.fp, k.fn, k.tn) == (3, 0, 2, 2)
    assert k.recall == 60.0 and k.precision == 100.0
    # Deletion wins ties: the final HAO (biased) is deleted and NI -> WO substituted.
    assert score.utterances[0].ops == "CCCCSD"


def test_per_session_wer_sums_utterances():
    refs = {**REFS, "id3": "A B"}
    hyps = {**HYPS, "id3": "A"}
    score = score_slidespeech(refs, hyps, OCR)
    score.add_sessions({"id1": "talk1", "id2": "talk1", "id3": "talk2"})
    assert score.sessions["talk1"].ref_words == 10 and score.sessions["talk1"].errors == 3
    assert score.sessions["talk2"].ref_words == 2 and score.sessions["talk2"].dels == 1
    with pytest.raises(InputError, match="no session"):
        score.add_sessions({"id1": "talk1"})


@pytest.mark.parametrize(
    "ref, hyp, keywords, expected",
    [
        # keyword absent from the reference: fp for each occurrence in the hypothesis
        ("A B", "A B K K", ["K"], (0, 2, 0, 0)),
        # absent from both: one true negative, whatever the hypothesis length
        ("A B", "A B", ["K"], (0, 0, 0, 1)),
        # t = 2 in the reference, c = 3 in the hypothesis
        ("K A K", "K K K", ["K"], (2, 1, 0, 0)),
        # t = 3, c = 1
        ("K K K", "K", ["K"], (1, 0, 2, 0)),
        # a repeated keyword counts once
        ("K", "", ["K", "K"], (0, 0, 1, 0)),
    ],
)
def test_keyword_counting(ref, hyp, keywords, expected):
    c = count_keywords(ref.split(), hyp.split(), keywords)
    assert (c.tp, c.fp, c.fn, c.tn) == expected


def test_multi_word_keywords_are_split_and_only_those_in_the_reference_are_biased():
    score = score_slidespeech(
        {"u": "deep neural networks"}, {"u": "deep neural nets"}, {"u": ["Neural Networks", "GPU"]}
    )
    utt = score.utterances[0]
    assert utt.biased == {"NEURAL", "NETWORKS"}
    assert (score.totals.b_wer.ref_words, score.totals.b_wer.subs) == (2, 1)
    assert (score.keywords.tp, score.keywords.fn, score.keywords.tn) == (1, 1, 1)


def test_whisper_normaliser_is_applied_to_both_sides_and_keywords(tmp_path):
    refs = {"u": "Mr. Smith painted it colour-blue."}
    hyps = {"u": "mister smith painted it color blue"}
    plain = score_slidespeech(refs, hyps, {"u": ["Smith"]})
    assert plain.totals.wer.errors > 0
    spellings = tmp_path / "normalizer.json"
    spellings.write_text(json.dumps({"colour": "color"}))
    normalize = get_normalizer("whisper", spellings)
    score = score_slidespeech(refs, hyps, {"u": ["Smith"]}, normalize=normalize)
    assert score.totals.wer.errors == 0
    assert score.utterances[0].biased == {"SMITH"}


def test_bad_spelling_map_is_an_input_error(tmp_path):
    bad = tmp_path / "normalizer.json"
    bad.write_text("[1, 2]")
    with pytest.raises(InputError, match="JSON object"):
        get_normalizer("whisper", bad)
    with pytest.raises(InputError, match="no such file"):
        get_normalizer("whisper", tmp_path / "missing.json")
