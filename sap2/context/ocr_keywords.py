"""Keywords from slide OCR text: the context of the SlideSpeech recipes.

Slide OCR is noisy: stray one-letter tokens, broken words, punctuation, page numbers,
and many ordinary words. A keyword list keeps what could be a domain term: tokens are
lower-cased, split on anything but letters, digits, apostrophes and inner hyphens; stop
words, common words, short tokens and pure numbers are dropped; duplicates are removed
keeping the first occurrence; the list is capped.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

#: A compact English stop-word list (function words, pronouns, auxiliaries).
ENGLISH_STOP_WORDS = frozenset(
    """a about above after again against all am an and any are aren't as at be because been
    before being below between both but by can can't cannot could couldn't did didn't do does
    doesn't doing don't down during each few for from further had hadn't has hasn't have
    haven't having he he'd he'll he's her here here's hers herself him himself his how how's
    i i'd i'll i'm i've if in into is isn't it it's its itself let's me more most mustn't my
    myself no nor not of off on once only or other ought our ours ourselves out over own same
    shan't she she'd she'll she's should shouldn't so some such than that that's the their
    theirs them themselves then there there's these they they'd they'll they're they've this
    those through to too under until up very was wasn't we we'd we'll we're we've were weren't
    what what's when when's where where's which while who who's whom why why's will with won't
    would wouldn't you you'd you'll you're you've your yours yourself yourselves also may might
    must shall via etc""".split()
)

_TOKEN = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")


@dataclass
class KeywordExtractor:
    """Extract keywords from OCR text.

    Attributes:
      stop_words: dropped words (lower case).
      common_words: also dropped (e.g. the 5,000 most frequent training words).
      min_length: shortest kept token, in characters.
      max_keywords: cap on the list length (0: no cap).
    """

    stop_words: frozenset[str] = ENGLISH_STOP_WORDS
    common_words: frozenset[str] = field(default_factory=frozenset)
    min_length: int = 3
    max_keywords: int = 0

    def __call__(self, texts: str | Iterable[str]) -> list[str]:
        """Keywords of one text, or of several texts in order (e.g. neighbouring slides)."""
        if isinstance(texts, str):
            texts = [texts]
        kept: dict[str, None] = {}
        for text in texts:
            for token in _TOKEN.findall(text.lower().replace("’", "'")):
                if (
                    len(token) < self.min_length
                    or token.isdigit()
                    or token in self.stop_words
                    or token in self.common_words
                ):
                    continue
                kept.setdefault(token, None)
                if self.max_keywords and len(kept) >= self.max_keywords:
                    return list(kept)
        return list(kept)
