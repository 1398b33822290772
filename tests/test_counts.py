"""Error counts and their report lines."""

import math

from sap2.scoring.counts import BiasedErrorCounts, ErrorCounts


def test_error_rate_and_line_format():
    c = ErrorCounts(ref_words=52576, subs=1263, ins=173, dels=197)
    assert c.errors == 1633
    assert c.format("WER") == (
        "WER: error_rate=3.1059799147900184, ref_words=52576, subs=1263, ins=173, dels=197"
    )


def test_error_rate_without_reference_words():
    assert ErrorCounts().error_rate == 0.0
    only_insertions = ErrorCounts(ins=2)
    assert math.isinf(only_insertions.error_rate)
    assert only_insertions.to_dict()["error_rate"] is None


def test_wer_is_the_sum_of_its_parts():
    total = BiasedErrorCounts.from_parts(ErrorCounts(10, 1, 2, 0), ErrorCounts(3, 1, 0, 1))
    assert total.wer == ErrorCounts(13, 2, 2, 1)
    total += total
    assert total.wer == ErrorCounts(26, 4, 4, 2)
    assert total.u_wer == ErrorCounts(20, 2, 4, 0)
    assert total.format().splitlines()[2].startswith("B-WER: error_rate=")
