"""Constrained pruning: the keywords a pruning pass writes are words of its context.

The pruning target is ``none`` or a space-separated list of context words
(:func:`sap2.model.prompts.target_text`). A model that has not learnt to copy writes words
it learnt by heart instead, which cannot help the transcription pass. With
:class:`KeywordConstraint` as ``generate``'s ``prefix_allowed_tokens_fn``, each step may
only continue one of the context words (in the tokenizer's own segmentation), start the
next one after a whole word, or end the output after a whole word; a word is written at
most once, and ``none`` only alone. The model still chooses which words, and how many.
"""

from collections.abc import Sequence

import torch
from transformers import PreTrainedTokenizerBase

from sap2.model.prompts import NO_KEYWORDS


class _Node:
    """A token trie node: ``word`` ends here (or None); ``below``: the words at or under
    it; ``alone``: its word may only be the whole output (``none``)."""

    __slots__ = ("children", "word", "below", "alone")

    def __init__(self) -> None:
        self.children: dict[int, _Node] = {}
        self.word: str | None = None
        self.below: set[str] = set()
        self.alone = False

    def add(self, word: str, ids: Sequence[int], alone: bool = False) -> None:
        node = self
        node.below.add(word)
        for token in ids:
            node = node.children.setdefault(token, _Node())
            node.below.add(word)
        node.word, node.alone = word, alone


def _ends_new_word(node: _Node, written: frozenset[str]) -> bool:
    return node.word is not None and node.word not in written


class KeywordConstraint:
    """``prefix_allowed_tokens_fn`` of a pruning pass over a batch.

    Args:
      tokenizer: the model's tokenizer.
      contexts: the context words of each batch item.
      end_token_ids: the tokens that end generation (the chat template's end of turn).
    """

    def __init__(
        self,
        tokenizer: PreTrainedTokenizerBase,
        contexts: Sequence[Sequence[str]],
        end_token_ids: Sequence[int],
    ) -> None:
        self.end_token_ids = list(end_token_ids)
        self.first_words: list[_Node] = []  # the first word of an output
        self.next_words: list[_Node] = []  # a word after a space
        # A word after a space is segmented as it is after "none " (no merge across the
        # space with any tokenizer here); the first word as it is at the start.
        prefix = tokenizer(NO_KEYWORDS, add_special_tokens=False)["input_ids"]
        for words in contexts:
            first, after = _Node(), _Node()
            first.add(NO_KEYWORDS, prefix, alone=True)
            for word in dict.fromkeys(words):
                first.add(word, tokenizer(word, add_special_tokens=False)["input_ids"])
                ids = tokenizer(f"{NO_KEYWORDS} {word}", add_special_tokens=False)["input_ids"]
                after.add(word, ids[len(prefix) :])
            self.first_words.append(first)
            self.next_words.append(after)

    def __call__(self, batch_id: int, generated: torch.Tensor) -> list[int]:
        """Tokens allowed after ``generated`` (the new tokens of item ``batch_id``; with
        beam search, of one of its beams)."""
        next_word = self.next_words[batch_id]
        states = [(self.first_words[batch_id], frozenset())]  # (node, words written before)
        for token in generated.tolist():
            moves = []
            for node, written in states:
                if token in node.children:
                    moves.append((node.children[token], written))
                if _ends_new_word(node, written) and not node.alone and token in next_word.children:
                    moves.append((next_word.children[token], written | {node.word}))
            states = moves
            if not states:  # ended (only end tokens follow) or left the trie
                return self.end_token_ids
        allowed: set[int] = set()
        for node, written in states:
            allowed.update(t for t, child in node.children.items() if child.below - written)
            if _ends_new_word(node, written):
                allowed.update(self.end_token_ids)
                if not node.alone:
                    written = written | {node.word}
                    allowed.update(
                        t for t, child in next_word.children.items() if child.below - written
                    )
        return sorted(allowed)
