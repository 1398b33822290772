"""The tiny checkpoint builder: its sentencepiece tokenizer and model options."""

import safetensors.torch
import torch
from conftest import TINY_TEXTS
from transformers import AutoConfig, AutoTokenizer

from sap2.model.loading import load_sap2_model, save_sap2_model
from sap2.model.prompts import PromptTexts
from sap2.model.tiny import build_tiny_qwen2_audio, train_tokenizer


def test_sentencepiece_tokenizer_round_trips_any_text(tmp_path):
    tokenizer = train_tokenizer(TINY_TEXTS * 4, vocab_size=300)
    # Unseen characters (capitals, digits, umlauts, newlines) fall back to bytes.
    for text in ("the slide shows the model", "Zürich 42!\nnext line", "fivax bimun"):
        assert tokenizer.decode(tokenizer(text)["input_ids"]) == text
    # The pieces are those of a sentencepiece model trained on the same sentences.
    words = tokenizer.tokenize("the slide shows the model")
    assert all(piece in tokenizer.get_vocab() for piece in words)
    assert words[0].startswith("\u2581")  # sentencepiece's word-boundary marker
    for special in ("<|AUDIO|>", "<|im_start|>", "<|im_end|>"):
        ids = tokenizer(f"a{special}b")["input_ids"]
        assert ids.count(tokenizer.convert_tokens_to_ids(special)) == 1
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.pad_token == "<|endoftext|>"
    # A word right after a special token has the pieces it has inside a sentence.
    tokenizer.add_special_tokens({"additional_special_tokens": ["<|startofcontext|>"]})
    pieces = tokenizer.tokenize("are:<|startofcontext|>model slide")
    after = pieces[pieces.index("<|startofcontext|>") + 1 :]
    in_sentence = tokenizer.tokenize("the model slide")[len(tokenizer.tokenize("the")) :]
    assert after == tokenizer.tokenize("model slide") == in_sentence


def test_prompt_words_are_whole_pieces():
    tokenizer = train_tokenizer(TINY_TEXTS * 4, vocab_size=400)
    prompt = PromptTexts().prune  # in every example the model reads, so weighed as often
    assert len(tokenizer.tokenize(prompt)) <= len(prompt.split()) + 2
    assert tokenizer.tokenize("You are a helpful assistant.")[-2:] == ["\u2581assistant", "."]


def test_saved_tokenizer_and_tied_embeddings(tmp_path):
    out = build_tiny_qwen2_audio(tmp_path / "m", TINY_TEXTS * 4, tie_word_embeddings=True)
    loaded = AutoTokenizer.from_pretrained(out)
    rebuilt = train_tokenizer(TINY_TEXTS * 4, vocab_size=400)
    for text in ("we compare the model with the baseline", "<|im_start|>model<|im_end|>"):
        assert loaded(text)["input_ids"] == rebuilt(text)["input_ids"]
    config = AutoConfig.from_pretrained(out)
    assert config.text_config.tie_word_embeddings
    saved = safetensors.torch.load_file(out / "model.safetensors")
    embeddings = saved["language_model.model.embed_tokens.weight"]
    assert torch.equal(saved["language_model.lm_head.weight"], embeddings)
    assert config.text_config.vocab_size == len(loaded)
    model, _ = load_sap2_model(out)  # two context tokens added: the weights stay shared
    assert model.lm_head.weight is model.get_input_embeddings().weight
    untied, _ = load_sap2_model(build_tiny_qwen2_audio(tmp_path / "u", TINY_TEXTS * 4))
    assert untied.lm_head.weight is not untied.get_input_embeddings().weight


def test_save_sap2_model_replaces_the_folder_atomically(tiny_model_dir, tmp_path):
    model, processor = load_sap2_model(tiny_model_dir)
    out = tmp_path / "saved"
    out.mkdir()
    (out / "stale.txt").write_text("from an older run")
    save_sap2_model(model, processor, out)
    assert not (out / "stale.txt").exists() and not (tmp_path / "saved.tmp").exists()
    reloaded, _ = load_sap2_model(out)
    assert torch.equal(reloaded.lm_head.weight, model.lm_head.weight)


def test_tiny_model_command(tmp_path, capsys):
    from sap2.bin.tiny_model import main as tiny_model

    texts = tmp_path / "text"
    texts.write_text("".join(f"u{i} {t}\n" for i, t in enumerate(TINY_TEXTS * 4)))
    config = tmp_path / "model.yaml"
    config.write_text("hidden_size: 32\nnum_layers: 1\nvocab_size: 300\n")
    out = tmp_path / "model"
    assert tiny_model(["--out", str(out), "--texts", str(texts), "--config", str(config)]) == 0
    built = AutoConfig.from_pretrained(out)
    assert built.text_config.hidden_size == 32 and built.text_config.num_hidden_layers == 1
    config.write_text("hidden_size: 32\nlayers: 1\n")
    assert tiny_model(["--out", str(tmp_path / "m2"), "--texts", str(texts), "--config",
                       str(config)]) == 1  # fmt: skip
    assert capsys.readouterr().err.strip().endswith("model.yaml: unknown keys layers")
    assert not (tmp_path / "m2").exists()
