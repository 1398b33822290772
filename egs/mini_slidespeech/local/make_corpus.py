#!/usr/bin/env python3
"""Stage 0 of egs/mini_slidespeech: synthesise a small slide-talk corpus with espeak-ng.

Talks ("sessions") have slides with a title, bullet points, domain terms and OCR-like
noise (stray short tokens, broken words, page numbers). Their utterances are short
lecture sentences over a few hundred common words that use some of the current slide's
terms, or none, spoken by espeak-ng with several voices, speeds and pitches (16 kHz).
The terms of dev and test talks never occur in training text, so only the context can
tell a model how to spell them: pronounceable invented words and real rare words, made
here (nothing is downloaded). The invented training terms come in families of words
that sound alike but are spelled differently, one spelling per talk, so that in training
too the spelling of a term is on its slide, not in its sound. Deterministic for a seed.

Writes the SlideSpeech layout that ``sap2-prepare slidespeech`` reads:
``<split>/wav/lecture/<talk>.wav`` and ``<split>/{segments,text,keywords,slides}``.

Usage:
  python local/make_corpus.py --out download/mini_slidespeech --seed 0
  python local/make_corpus.py --out /tmp/tiny --train-talks 2 --dev-talks 1 --test-talks 1
"""

import argparse
import random
import shutil
import subprocess
import sys
import tempfile
from multiprocessing import Pool
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf

from sap2.cli import HelpFormatter
from sap2.data.invented_words import invented_words

SR = 16000
GAP_SECONDS = 0.4
MAX_SECONDS = 3.8  # below the mini model's 4 s encoder window

SUBJECTS = "we you i the model this method our system the network the team".split(" ")
TEMPLATES_WITH_TERM = [
    "today we talk about {t}",
    "the {t} model works well",
    "here you can see the {t} results",
    "we train {t} on a large data set",
    "let me explain how {t} works",
    "the main idea of {t} is simple",
    "we compare {t} with {u}",
    "then {t} and {u} are combined",
    "this is why {t} helps a lot",
    "the next slide shows {t} in detail",
    "{t} gives better results than before",
    "we use {t} for every input",
    "a small change in {t} makes a big difference",
    "you can think of {t} as a filter",
]
TEMPLATES_PLAIN = [
    "this slide shows the main idea",
    "let me explain the next step",
    "as you can see the results are good",
    "we will come back to this later",
    "the numbers on the left are the baseline",
    "now let us look at the second part",
    "this is an important point",
    "thank you for your attention",
    "we did many experiments last year",
    "the question is how to make it faster",
    "so the answer is yes in most cases",
    "here is a short summary of the method",
]
REAL_RARE_WORDS = (
    "quixotic obfuscate ephemeral sycophant labyrinth serendipity juxtapose nebulous "
    "esoteric idiosyncratic ubiquitous paradigm mellifluous cacophony zephyr quagmire "
    "perfunctory obstreperous pernicious recalcitrant sesquipedalian vicissitude "
    "anachronism equanimity heuristic isotropic stochastic manifold eigenvalue "
    "tessellation bifurcation homomorphism"
).split()
VOICES = ["en-us", "en-gb", "en-us+m3", "en-us+f3", "en+m5", "en+f2", "en-gb+m2", "en-us+f4"]
NOISE = ["|", "~", "o", "ll", "..", "-", "x", "ii", "©", "•"]
HELD_OUT_TERMS = 35  # terms of each held-out split (dev, test)
HELD_OUT_REAL = 10  # real rare words among the 2 x 35 held-out terms
# Spellings of the same sound; "k" only as "c" before a, o, u (see respellings).
SAME_SOUND = {c: [c + c] for c in "bdglmnprtz"} | {
    "f": ["ph", "ff"],
    "k": ["c", "ck"],
    "x": ["ks", "cks"],
    "s": ["ss"],
}


def respellings(rng: random.Random, word: str, count: int) -> list[str]:
    """``word`` and up to ``count - 1`` other spellings of the same sound: one or two
    letters changed by :data:`SAME_SOUND` (``f`` as ``ph``, ``k`` as ``c`` before a back
    vowel, doubled consonants inside the word, ``x`` as ``ks``)."""
    spellings = {word: None}
    for _ in range(20 * count):
        if len(spellings) == count:
            break
        letters = list(word)
        for _ in range(rng.randint(1, 2)):
            i = rng.randrange(len(letters))
            options = [
                o for o in SAME_SOUND.get(letters[i], ())
                if (i > 0 or o in ("ph", "c"))  # a word starts with one letter
                and (letters[i] != "k" or word[i + 1 : i + 2] in ("a", "o", "u"))
            ]  # fmt: skip
            if options:
                letters[i] = rng.choice(options)
        spellings["".join(letters)] = None
    return list(spellings)


def take_terms(pool: list[tuple[int, str]], count: int) -> list[str]:
    """Remove and return the spellings of ``count`` different families from ``pool``
    (``(family, spelling)`` pairs), taken in order (fewer when the pool runs out)."""
    taken: dict[int, str] = {}
    for item in list(pool):
        if len(taken) == count:
            break
        if item[0] not in taken:
            taken[item[0]] = item[1]
            pool.remove(item)
    return list(taken.values())


def ocr_line(rng: random.Random, words: list[str]) -> str:
    """Slide text with OCR noise: stray tokens and now and then a broken word."""
    out = []
    for word in words:
        if len(word) > 6 and rng.random() < 0.15:
            cut = rng.randint(2, len(word) - 2)
            out += [word[:cut], word[cut:]]
        else:
            out.append(word)
        if rng.random() < 0.2:
            out.append(rng.choice(NOISE))
    return " ".join(out)


def make_talk(rng: random.Random, talk_id: str, terms: list[str], slides: int, per_slide: int):
    """Slides (title, OCR text, terms) and their utterances of one talk."""
    result = []
    for index in range(slides):
        slide_terms = rng.sample(terms, 3)
        title = f"{slide_terms[0]} and {slide_terms[1]}"
        bullets = [
            f"{rng.choice(['using', 'why', 'how', 'results of'])} {slide_terms[2]}",
            f"{slide_terms[0]} {rng.choice(['versus', 'with', 'for'])} {slide_terms[1]}",
            rng.choice(["main idea", "experiments", "summary", "next steps"]),
        ]
        ocr = ocr_line(rng, (title + " " + " ".join(bullets)).split()) + f" {index + 1}"
        utterances = []
        for _ in range(per_slide):
            if rng.random() < 0.25:
                utterances.append(rng.choice(TEMPLATES_PLAIN))
                continue
            t, u = rng.sample(slide_terms, 2)
            utterances.append(rng.choice(TEMPLATES_WITH_TERM).format(t=t, u=u))
        result.append({"title": title, "ocr": ocr, "terms": slide_terms, "utterances": utterances})
    return result


def speak(job: tuple[str, str, int, int]) -> np.ndarray:
    """espeak-ng -> 16 kHz float32 samples (slower speech for long sentences is re-spoken
    faster so that every utterance fits the encoder window)."""
    text, voice, speed, pitch = job
    with tempfile.TemporaryDirectory() as tmp:
        for attempt in range(4):
            wav = Path(tmp) / "u.wav"
            subprocess.run(
                ["espeak-ng", "-v", voice, "-s", str(speed + 25 * attempt), "-p", str(pitch),
                 "-w", str(wav), text],
                check=True, capture_output=True,
            )  # fmt: skip
            audio, rate = sf.read(wav, dtype="float32")
            audio = librosa.resample(audio, orig_sr=rate, target_sr=SR)
            audio, _ = librosa.effects.trim(audio, top_db=40)
            if len(audio) / SR <= MAX_SECONDS:
                return audio
    raise RuntimeError(f"cannot fit {text!r} into {MAX_SECONDS} s")


def write_split(out: Path, split: str, talks: dict, rng: random.Random, pool: Pool) -> int:
    base = out / split
    (base / "wav" / "lecture").mkdir(parents=True, exist_ok=True)
    segments, text, keywords, slides_lines = [], [], [], []
    count = 0
    for talk_id, talk in talks.items():
        jobs, meta = [], []
        for slide in talk:
            for sentence in slide["utterances"]:
                jobs.append(
                    (sentence, rng.choice(VOICES), rng.randint(140, 175), rng.randint(30, 70))
                )
                meta.append((slide, sentence))
        audios = pool.map(speak, jobs)
        samples, now, slide_spans = [], 0.0, {}
        for k, ((slide, sentence), audio) in enumerate(zip(meta, audios, strict=True)):
            utt = f"{talk_id}-{k + 1:04d}"
            samples += [np.zeros(int(GAP_SECONDS * SR), dtype=np.float32), audio]
            start = now + GAP_SECONDS
            end = start + len(audio) / SR
            now = end
            segments.append(f"{utt} {talk_id} {start:.3f} {end:.3f}")
            text.append(f"{utt} {sentence}")
            keywords.append(f"{utt} {'$'.join(t.upper() for t in slide['terms'])}")
            span = slide_spans.setdefault(id(slide), [start, end, slide["ocr"]])
            span[1] = end
            count += 1
        sf.write(base / "wav" / "lecture" / f"{talk_id}.wav", np.concatenate(samples), SR)
        spans = sorted(slide_spans.values())
        for i, (start, end, ocr) in enumerate(spans):
            show_until = spans[i + 1][0] - 0.01 if i + 1 < len(spans) else end + 1.0
            slides_lines.append(f"{talk_id} {max(0.0, start - 0.2):.3f} {show_until:.3f} {ocr}")
    for name, lines in (("segments", segments), ("text", text), ("keywords", keywords),
                        ("slides", slides_lines)):  # fmt: skip
        (base / name).write_text("\n".join(lines) + "\n")
    return count


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=HelpFormatter
    )
    parser.add_argument("--out", required=True, help="corpus folder (the SlideSpeech layout)")
    parser.add_argument("--seed", type=int, default=0, help="seed of texts, voices and terms")
    parser.add_argument("--train-talks", type=int, default=120, help="talks of the train split")
    parser.add_argument("--dev-talks", type=int, default=3, help="talks of the dev split")
    parser.add_argument("--test-talks", type=int, default=6, help="talks of the test split")
    parser.add_argument("--slides-per-talk", type=int, default=4, help="slides of each talk")
    parser.add_argument("--utts-per-slide", type=int, default=5, help="utterances per slide")
    parser.add_argument("--terms-per-talk", type=int, default=10, help="rare terms of a talk")
    parser.add_argument(
        "--spellings-per-term",
        type=int,
        default=4,
        help="training talks that share a term, each with its own spelling",
    )
    parser.add_argument("--nj", type=int, default=2, help="parallel espeak-ng processes")
    args = parser.parse_args()
    if shutil.which("espeak-ng") is None:
        sys.exit("make_corpus.py: espeak-ng is not installed: apt-get install espeak-ng "
                 "(Debian/Ubuntu) or brew install espeak-ng (macOS)")  # fmt: skip
    rng = random.Random(args.seed)
    real = list(REAL_RARE_WORDS)
    rng.shuffle(real)
    held_out_invented = 2 * HELD_OUT_TERMS - HELD_OUT_REAL
    train_real = real[HELD_OUT_REAL:]
    slots = args.train_talks * args.terms_per_talk
    invented = invented_words(rng, held_out_invented + slots)
    # Disjoint term pools: dev and test terms never appear in training text. The training
    # terms come in families of words that sound the same but are spelled differently
    # (one spelling per talk), so that the audio alone cannot tell a model how to spell
    # a term and memorising spellings does not pay: it has to read them from the context.
    held_out = invented[:held_out_invented] + real[:HELD_OUT_REAL]
    rng.shuffle(held_out)
    train_terms = [(-1 - n, word) for n, word in enumerate(train_real)]
    for family, word in enumerate(invented[held_out_invented:]):
        if len(train_terms) >= slots:
            break
        train_terms += [(family, s) for s in respellings(rng, word, args.spellings_per_term)]
    rng.shuffle(train_terms)
    split_pools = {"dev": held_out[:HELD_OUT_TERMS], "test": held_out[HELD_OUT_TERMS:]}
    talks_per_split = {"train": args.train_talks, "dev": args.dev_talks, "test": args.test_talks}
    out = Path(args.out)
    with Pool(args.nj) as pool:
        for split, num_talks in talks_per_split.items():
            talks = {}
            for n in range(num_talks):
                if split == "train":
                    terms = take_terms(train_terms, args.terms_per_talk)
                else:
                    terms = rng.sample(split_pools[split], args.terms_per_talk)
                talk_id = f"{split}{n + 1:03d}"
                talks[talk_id] = make_talk(rng, talk_id, terms, args.slides_per_talk,
                                           args.utts_per_slide)  # fmt: skip
            count = write_split(out, split, talks, rng, pool)
            print(f"{split}: {num_talks} talks, {count} utterances")


if __name__ == "__main__":
    main()
