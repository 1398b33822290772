"""Install sap2-asr: ``pip install -e '.[dev]'`` (``make test`` does this for you).

The word aligner behind ``sap2-score`` is a small C extension
(``sap2/scoring/_align.c``); a C compiler and the Python headers are needed to build it.
"""

from setuptools import Extension, find_packages, setup

setup(
    name="sap2-asr",
    version="0.1.0",
    description=(
        "SAP²: speech-aware context pruning with speech-driven attention pooling "
        "for contextual ASR with speech LLMs (Kaldi/ESPnet-style recipes)"
    ),
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["sap2", "sap2.*"]),
    ext_modules=[Extension("sap2.scoring._align", ["sap2/scoring/_align.c"])],
    install_requires=[
        "torch>=2.4,<2.15",
        "transformers>=5.24,<6",
        "peft>=0.15,<0.22",
        "deepspeed>=0.17,<0.20",
        "librosa>=0.10,<1.1",
        "lhotse>=1.30,<1.34",
        "jiwer>=3.0,<5",
        "sentencepiece>=0.2,<0.3",
        "soundfile>=0.12,<0.15",
        "tqdm>=4.60",
        "matplotlib>=3.8,<4",
        "pyyaml>=6.0",
        "tensorboard>=2.14",
        "gguf>=0.17,<0.20",  # transformers reads GGUF language models with it
    ],
    extras_require={"dev": ["pytest>=8", "ruff>=0.6"]},
    entry_points={
        "console_scripts": [
            "sap2-score=sap2.bin.score:main",
            "sap2-biasing-lists=sap2.bin.biasing_lists:main",
            "sap2-common-words=sap2.bin.common_words:main",
            "sap2-prepare=sap2.bin.prepare:main",
            "sap2-swift-json=sap2.bin.swift_json:main",
            "sap2-train=sap2.bin.train:main",
            "sap2-decode=sap2.bin.decode:main",
            "sap2-whisper-decode=sap2.bin.whisper_decode:main",
            "sap2-transcribe=sap2.bin.transcribe:main",
            "sap2-convert-whisper=sap2.bin.convert_whisper:main",
            "sap2-assemble=sap2.bin.assemble:main",
            "sap2-show-results=sap2.bin.show_results:main",
            "sap2-nonspeech-cuts=sap2.bin.nonspeech_cuts:main",
            "sap2-split-cuts=sap2.bin.split_cuts:main",
            "sap2-combine-cuts=sap2.bin.combine_cuts:main",
            "sap2-tiny-model=sap2.bin.tiny_model:main",
            "sap2-merge-decodes=sap2.bin.merge_decodes:main",
        ]
    },
)
