"""Protocol-independent scoring of a corpus: pair hypotheses with references, align, count."""

import logging
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field

from sap2.errors import InputError
from sap2.scoring.align import AlignmentRule, align_parts
from sap2.scoring.counts import BiasedErrorCounts, ErrorCounts
from sap2.scoring.false_alarms import FalseAlarms, false_alarm_words
from sap2.scoring.keywords import KeywordCounts, count_pruning

logger = logging.getLogger(__name__)


@dataclass
class UtteranceScore:
    """The alignment and counts of one utterance (``parts``: the counts in
    :data:`~sap2.scoring.counts.PARTS` order; :attr:`counts` as objects)."""

    utt_id: str
    ref: list[str]
    hyp: list[str]
    ops: str
    biased: frozenset[str]
    parts: tuple[int, ...]
    keywords: KeywordCounts | None = None

    @property
    def counts(self) -> BiasedErrorCounts:
        return BiasedErrorCounts.from_tuple(self.parts)


@dataclass
class CorpusScore:
    """Totals of a scoring run, with the per-utterance results behind them."""

    protocol: str
    utterances: list[UtteranceScore] = field(default_factory=list)
    keywords: KeywordCounts | None = None
    sessions: dict[str, ErrorCounts] | None = None
    pruning: KeywordCounts | None = None
    false_alarms: FalseAlarms | None = None

    @property
    def totals(self) -> BiasedErrorCounts:
        """The counts summed over the utterances."""
        sums = [sum(column) for column in zip(*(u.parts for u in self.utterances), strict=True)]
        return BiasedErrorCounts.from_tuple(sums) if sums else BiasedErrorCounts()

    def add(self, utt: UtteranceScore) -> None:
        self.utterances.append(utt)
        if utt.keywords is not None:
            if self.keywords is None:
                self.keywords = KeywordCounts()
            self.keywords += utt.keywords

    def add_pruning(
        self, pruned: dict[str, list[str]], words_of: Callable[[str], list[str]]
    ) -> None:
        """Score stage-1 keywords (``{uttid: phrases}``; ``words_of`` normalises and splits
        a phrase as the references were) against each utterance's biased words; utterances
        without a line predicted none."""
        self.pruning = KeywordCounts()
        for utt in self.utterances:
            words = [w for k in pruned.get(utt.utt_id, []) for w in words_of(k)]
            self.pruning += count_pruning(words, utt.biased)

    def add_false_alarms(
        self, contexts: dict[str, list[str]], words_of: Callable[[str], list[str]]
    ) -> None:
        """Count the false alarms (:mod:`sap2.scoring.false_alarms`) against the context
        each utterance was given (``{uttid: phrases}``, split by ``words_of``); an utterance
        without a line had no context."""
        self.false_alarms = FalseAlarms()
        for utt in self.utterances:
            context = {w for phrase in contexts.get(utt.utt_id, ()) for w in words_of(phrase)}
            words = false_alarm_words(utt.ref, utt.hyp, utt.ops, context) if context else []
            self.false_alarms.add(words, len(utt.ref))

    def add_sessions(self, utt2session: dict[str, str]) -> None:
        """Sum the WER counts of each session (utterances without a session are an error)."""
        missing = [u.utt_id for u in self.utterances if u.utt_id not in utt2session]
        if missing:
            raise InputError(
                f"utt2session: {len(missing)} scored utterances have no session "
                f"(first: {', '.join(missing[:3])})"
            )
        self.sessions = {}
        for utt in self.utterances:
            session = self.sessions.setdefault(utt2session[utt.utt_id], ErrorCounts())
            session += utt.counts.wer


def paired_ids(
    ref_ids: Iterable[str], hyp_ids: Collection[str], hyp_path: str, lenient: bool
) -> list[str]:
    """Reference ids that have a hypothesis, in reference order.

    Raises:
      InputError: some references lack a hypothesis and ``lenient`` is false, or no
        reference has one.
    """
    ref_ids = list(ref_ids)
    kept = [u for u in ref_ids if u in hyp_ids]
    missing = len(ref_ids) - len(kept)
    if missing and not lenient:
        first = [u for u in ref_ids if u not in hyp_ids][:3]
        raise InputError(
            f"{hyp_path}: {missing} of {len(ref_ids)} reference utterances have no "
            f"hypothesis (first: {', '.join(first)}); use --lenient to leave them out"
        )
    if not kept:
        raise InputError(f"{hyp_path}: no hypothesis matches a reference utterance id")
    if missing:
        logger.warning("lenient scoring: left out %d reference utterances", missing)
    extra = len(hyp_ids) - len(kept)
    if extra:
        logger.warning("%s: ignored %d hypotheses with no reference", hyp_path, extra)
    return kept


def score_utterance(
    utt_id: str,
    ref: list[str],
    hyp: list[str],
    biased: frozenset[str],
    rule: AlignmentRule,
) -> UtteranceScore:
    """Align one utterance under ``rule`` and count its errors against ``biased``."""
    ops, parts = align_parts(ref, hyp, rule, biased)
    return UtteranceScore(utt_id, ref, hyp, ops, biased, parts)
