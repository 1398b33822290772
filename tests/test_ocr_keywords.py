"""Keyword extraction from slide OCR text."""

from sap2.context.ocr_keywords import KeywordExtractor


def test_tokenises_lowercases_and_drops_noise():
    extract = KeywordExtractor()
    text = "Deep Learning for ASR: the Transformer's self-attention | p. 12 ~ x ..  Deep"
    assert extract(text) == ["deep", "learning", "asr", "transformer's", "self-attention"]


def test_common_words_min_length_and_cap():
    extract = KeywordExtractor(common_words=frozenset({"learning"}), min_length=4, max_keywords=2)
    assert extract("Deep learning ASR with Conformer and Zipformer") == ["deep", "conformer"]


def test_several_texts_keep_first_occurrence_order():
    extract = KeywordExtractor()
    assert extract(["Kaldi lattice", "ESPnet Kaldi", ""]) == ["kaldi", "lattice", "espnet"]


def test_empty_and_unicode():
    extract = KeywordExtractor()
    assert extract("") == [] and extract("-- | 1 2 3 --") == []
    assert extract("Schrödinger’s naïve café") == ["schrödinger's", "naïve", "café"]
