"""sap2-decode in every mode, resuming, merging split jobs; utils/run.pl."""

import hashlib
import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO
from lhotse import CutSet

from sap2.bin.decode import main as decode
from sap2.bin.merge_decodes import main as merge_decodes
from sap2.bin.split_cuts import main as split_cuts
from sap2.provenance import model_hashes


@pytest.fixture
def test_cuts(slidespeech_test_cuts):
    return slidespeech_test_cuts


def run_decode(tiny_model_dir, cuts, out, *extra):
    return decode(
        [
            "--model-dir",
            str(tiny_model_dir),
            "--cuts",
            str(cuts),
            "--out-dir",
            str(out),
            "--max-new-tokens",
            "6",
            *extra,
        ]  # fmt: skip
    )


@pytest.mark.parametrize("mode", ["two_stage", "multitask", "full_context", "no_context"])
def test_every_mode_writes_its_outputs(tiny_model_dir, test_cuts, tmp_path, mode):
    assert run_decode(tiny_model_dir, test_cuts, tmp_path, "--mode", mode) == 0
    records = [json.loads(line) for line in (tmp_path / "hyp.jsonl").read_text().splitlines()]
    assert sorted(r["id"] for r in records) == [
        "talk1-0001",
        "talk1-0002",
        "talk1-0003",
        "talk2-0001",
    ]
    text = (tmp_path / "hyp.txt").read_text().splitlines()
    assert [line.split(" ", 1)[0] for line in text] == sorted(r["id"] for r in records)
    assert (tmp_path / "keywords.txt").is_file() == (mode in ("two_stage", "multitask"))
    stats = json.loads((tmp_path / "decode_stats.json").read_text())
    assert stats["utterances"] == 4 and stats["rtf"] > 0 and stats["tokens_per_second"] > 0
    assert (stats["context_tokens"] > 0) == (mode != "no_context")


def test_rerun_skips_decoded_utterances_and_ignores_a_torn_line(
    tiny_model_dir, test_cuts, tmp_path, caplog
):
    caplog.set_level("INFO")
    assert run_decode(tiny_model_dir, test_cuts, tmp_path, "--mode", "no_context") == 0
    lines = (tmp_path / "hyp.jsonl").read_text().splitlines()
    (tmp_path / "hyp.jsonl").write_text("\n".join(lines[:2]) + '\n{"id": "talk1-00')  # a kill
    assert run_decode(tiny_model_dir, test_cuts, tmp_path, "--mode", "no_context") == 0
    assert "2 utterances already decoded, 2 to go" in caplog.text
    again = (tmp_path / "hyp.jsonl").read_text().splitlines()
    assert sorted(map(text_of, again)) == sorted(map(text_of, lines))
    stats = json.loads((tmp_path / "decode_stats.json").read_text())
    assert stats["utterances"] == 4 and stats["audio_seconds"] == pytest.approx(
        sum(c.duration for c in CutSet.from_file(test_cuts))
    )  # both runs are counted


def text_of(line: str) -> tuple[str, str]:
    """(id, hyp) of a hyp.jsonl line; its costs (decode time) differ from run to run."""
    record = json.loads(line)
    return record["id"], record["hyp"]


def run_pl(*args: str, **options) -> subprocess.CompletedProcess:
    """utils/run.pl with ``args``, its output captured as text."""
    return subprocess.run(
        [str(REPO / "utils" / "run.pl"), *args], capture_output=True, text=True, **options
    )


def test_split_jobs_through_run_pl_and_merge(tiny_model_dir, test_cuts, tmp_path):
    assert (
        split_cuts(
            ["--cuts", str(test_cuts), "--num-jobs", "2", "--out-dir", str(tmp_path / "split2")]
        )
        == 0
    )
    out = run_pl(
        "JOB=1:2", str(tmp_path / "log" / "decode.JOB.log"),
        sys.executable, "-m", "sap2.bin.decode", "--model-dir", str(tiny_model_dir),
        "--cuts", str(tmp_path / "split2" / "cuts.JOB.jsonl.gz"), "--mode", "no_context",
        "--max-new-tokens", "4", "--out-dir", str(tmp_path / "split2" / "JOB"),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr + (tmp_path / "log" / "decode.1.log").read_text()
    log = (tmp_path / "log" / "decode.2.log").read_text()
    assert log.startswith(f"# {sys.executable} -m sap2.bin.decode") and "# Ended (code 0)" in log
    jobs = [str(tmp_path / "split2" / str(j)) for j in (1, 2)]
    assert merge_decodes([*jobs, "--out-dir", str(tmp_path / "merged")]) == 0
    assert len((tmp_path / "merged" / "hyp.txt").read_text().splitlines()) == 4
    merged = json.loads((tmp_path / "merged" / "decode_stats.json").read_text())
    assert (merged["utterances"], merged["jobs"], merged["context_tokens"]) == (4, 2, 0)
    parts = [json.loads((Path(job) / "decode_stats.json").read_text()) for job in jobs]
    assert merged["peak_memory_gb"] == max(p["peak_memory_gb"] for p in parts) > 0.1


def test_run_pl_reports_failures(tmp_path):
    out = run_pl("JOB=1:3", str(tmp_path / "x.JOB.log"), "bash", "-c", "test JOB -ne 2")
    assert out.returncode == 1 and f"1 / 3 failed, log is in {tmp_path}/x.2.log" in out.stderr
    assert "# Ended (code 1)" in (tmp_path / "x.2.log").read_text()
    bad = run_pl("JOB=1:2", str(tmp_path / "x.log"), "true")
    assert bad.returncode != 0 and "needs JOB in the log file name" in bad.stderr


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs 2 cores")
def test_run_pl_runs_jobs_in_parallel_under_path_sh(tmp_path):
    # Each job waits (5 s at most) until both have started: run one after the other, the
    # first fails. path.sh's OMP_NUM_THREADS=1 must not limit run.pl to one job.
    both = (
        f"touch {tmp_path}/started.JOB; for i in $(seq 50); do "
        + " && ".join(f"[ -f {tmp_path}/started.{job} ]" for job in (1, 2))
        + " && exit 0; sleep 0.1; done; exit 1"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = run_pl("JOB=1:2", str(tmp_path / "x.JOB.log"), "bash", "-c", both, env=env)
    assert out.returncode == 0, out.stderr


def test_decode_bad_inputs(tiny_model_dir, test_cuts, tmp_path, capsys):
    assert (
        run_decode(tiny_model_dir, test_cuts, tmp_path, "--context-field", "biasing_list_100") == 1
    )
    assert "has no custom field 'biasing_list_100'" in capsys.readouterr().err
    assert run_decode(tiny_model_dir, tmp_path / "none.jsonl.gz", tmp_path) == 1
    assert "none.jsonl.gz: no such cuts manifest" in capsys.readouterr().err
    assert merge_decodes([str(tmp_path / "nojob"), "--out-dir", str(tmp_path / "m")]) == 1
    assert "did decoding job" in capsys.readouterr().err


def test_a_segment_longer_than_the_window_is_decoded_cut_and_named(
    tiny_model_dir, tmp_path, caplog
):
    import soundfile as sf
    from fake_corpora import SR, tone
    from lhotse import Recording

    sf.write(tmp_path / "long.wav", tone(31.0, 0), SR)
    cut = Recording.from_file(tmp_path / "long.wav", recording_id="talk9").to_cut()
    cut = cut.with_id("talk9-0001").with_custom("context", ["kaldi"])
    CutSet.from_cuts([cut]).to_file(tmp_path / "long.jsonl.gz")
    caplog.set_level("INFO")
    assert run_decode(tiny_model_dir, tmp_path / "long.jsonl.gz", tmp_path / "out") == 0
    assert "1 utterances were cut to the 30 s encoder window" in caplog.text
    assert "talk9-0001" in caplog.text.split("encoder window")[1]
    record = json.loads((tmp_path / "out" / "hyp.jsonl").read_text())
    assert record["id"] == "talk9-0001" and record["audio_truncated_to"] == 30


def test_transcribe_own_audio(tiny_model_dir, tmp_path, capsys):
    import numpy as np
    import soundfile as sf

    from sap2.bin.transcribe import main as transcribe

    t = np.arange(44100) / 44100
    sf.write(tmp_path / "stereo.wav", np.stack([np.sin(440 * t), np.sin(220 * t)], 1) * 0.1, 44100)
    sf.write(tmp_path / "mono.flac", np.sin(300 * t[:22050]) * 0.1, 22050)
    (tmp_path / "broken.wav").write_bytes(b"RIFF nonsense")
    sf.write(tmp_path / "blip.wav", np.zeros(160), 16000)  # 10 ms: too short for the encoder
    (tmp_path / "kw.txt").write_text("kaldi\nlattice tutorial\n")
    files = [str(tmp_path / n) for n in ("stereo.wav", "broken.wav", "blip.wav", "mono.flac")]
    args = [
        "--model",
        str(tiny_model_dir),
        "--keywords",
        str(tmp_path / "kw.txt"),
        "--max-new-tokens",
        "4",
    ]
    assert transcribe([*args, *files]) == 1
    out, err = capsys.readouterr()
    assert [line.split("\t")[0] for line in out.splitlines()] == [files[0], files[3]], err
    assert f"{files[1]}: cannot read audio" in err and "Traceback" not in err
    assert f"{files[2]}: 10 ms is shorter than the 20 ms the encoder needs" in err
    assert transcribe(["--model", str(tiny_model_dir), "--mode", "two_stage", files[0]]) == 1
    assert "needs --keywords" in capsys.readouterr().err


def fake_sbatch(folder: Path) -> Path:
    """A stand-in for sbatch in ``folder``: runs the array's tasks here, records its
    arguments beside the job script."""
    fake = folder / "sbatch"
    folder.mkdir(exist_ok=True)
    fake.write_text(
        "#!/usr/bin/env bash\n"
        'for a in "$@"; do case "$a" in --array=*) array=${a#--array=};; esac; script=$a; done\n'
        'echo "$@" > "$(dirname "$script")/sbatch.args"; rc=0\n'
        "for t in $(seq ${array%-*} ${array#*-}); do\n"
        '  SLURM_ARRAY_TASK_ID=$t bash "$script" || rc=1\n'
        "done\n"
        "exit $rc\n"
    )
    fake.chmod(0o755)
    return fake


#: Log and argument names that a shell would run as code if they were not quoted.
HOSTILE_NAMES = [
    "x';touch INJECTED;'.JOB.log",
    'y"$(touch INJECTED)".JOB.log',
    "z`touch INJECTED`.JOB.log",
]


@pytest.mark.parametrize("runner", ["run.pl", "slurm.pl"])
@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_job_runners_quote_any_file_name(tmp_path, runner, name):
    env = dict(os.environ, PATH=f"{fake_sbatch(tmp_path / 'bin').parent}:{os.environ['PATH']}")
    log = tmp_path / "log" / name
    arg = "a b';touch INJECTED;'JOB"
    cmd = [str(REPO / "utils" / runner), "JOB=1:2", str(log), "printf", "%s\\n", arg]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert not list(tmp_path.rglob("INJECTED")) and not (REPO / "INJECTED").exists()
    for job in (1, 2):
        text = Path(str(log).replace("JOB", str(job))).read_text()
        assert f"a b';touch INJECTED;'{job}\n" in text and "# Ended (code 0)" in text


def test_slurm_pl_submits_an_array_job(tmp_path):
    fake = fake_sbatch(tmp_path / "bin")
    conf = tmp_path / "slurm.conf"
    conf.write_text("# site\ndefault --partition=gpu\n")
    env = dict(os.environ, PATH=f"{fake.parent}:{os.environ['PATH']}")
    cmd = [
        *(str(REPO / "utils" / "slurm.pl"), "--config", str(conf), "--gpu", "1", "--mem", "8G"),
        *("JOB=1:3", str(tmp_path / "log" / "x.JOB.log"), "bash", "-c", "test JOB -ne 2"),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert (
        out.returncode == 1 and "1 / 3 failed, log is in" in out.stderr and "x.2.log" in out.stderr
    )
    args = (tmp_path / "log" / "q" / "sbatch.args").read_text()
    for expected in ("--wait", "--partition=gpu", "--gres=gpu:1", "--mem=8G", "--array=1-3"):
        assert expected in args
    assert "# Ended (code 0)" in (tmp_path / "log" / "x.3.log").read_text()


def test_outputs_cut_at_the_token_budget_are_marked_and_not_scored(
    tiny_model_dir, test_cuts, tmp_path
):
    # A random model seldom ends within 2 tokens: its outputs are cut there.
    assert run_decode(tiny_model_dir, test_cuts, tmp_path, "--mode", "no_context",
                      "--max-new-tokens", "2") == 0  # fmt: skip
    records = [json.loads(line) for line in (tmp_path / "hyp.jsonl").read_text().splitlines()]
    cut = [r for r in records if r.get("problems") == ["transcribe: cut at 2 tokens"]]
    assert cut and all(r["hyp"] == "" and r["outputs"][0] for r in cut)
    hyps = dict(
        line.partition(" ")[::2] for line in (tmp_path / "hyp.txt").read_text().splitlines()
    )
    assert all(hyps[r["id"]] == "" for r in cut)


def test_batch_and_single_decoding_agree_with_a_repetition_penalty(
    tiny_model_dir, test_cuts, tmp_path
):
    hyps = {}
    for name, max_duration in (("batch", "100"), ("single", "1.3")):  # 1.3 s: one cut a batch
        args = ("--mode", "two_stage", "--repetition-penalty", "1.1", "--max-duration",
                max_duration, "--max-new-tokens", "8")  # fmt: skip
        assert run_decode(tiny_model_dir, test_cuts, tmp_path / name, *args) == 0
        hyps[name] = [json.loads(x) for x in (tmp_path / name / "hyp.jsonl").read_text().split("\n")
                      if x]  # fmt: skip
    assert {r["id"]: (r["hyp"], r["keywords"]) for r in hyps["batch"]} == {
        r["id"]: (r["hyp"], r["keywords"]) for r in hyps["single"]
    }


class CannedDecoder:
    """A :class:`~sap2.decode.decoder.Decoder` whose passes answer from a script, to see
    which prompts it builds and how it reads the answers."""

    def __new__(cls, processor, options, answers: dict):
        from sap2.decode.decoder import Decoder, PassOutput

        class Canned(Decoder):
            def generate(self, examples, constraint=None):
                self.asked = [*getattr(self, "asked", []), [(e.task, e.context) for e in examples]]
                return [PassOutput(answers[e.task], False, 10) for e in examples]

        return Canned(model=None, processor=processor, options=options)


@pytest.mark.parametrize("empty, second", [("plain", "transcribe"), ("span", "transcribe_context")])
def test_stage_2_prompt_when_pruning_keeps_no_keyword(tiny_model_dir, empty, second):
    from sap2.decode.options import DecodeOptions
    from sap2.model.processor import load_processor
    from sap2.model.prompts import Task

    answers = {Task.PRUNE: "none", Task.TRANSCRIBE: "hi", Task.TRANSCRIBE_CONTEXT: "hi"}
    options = DecodeOptions("two_stage", "context", empty_keywords=empty)
    decoder = CannedDecoder(load_processor(tiny_model_dir), options, answers)
    results = decoder._decode([np.zeros(16000, np.float32)], [["kaldi", "lattice"]])
    assert results == [{"hyp": "hi", "keywords": []}]
    assert [(task, list(context)) for task, context in decoder.asked[1]] == [(Task(second), [])]


def test_a_multitask_answer_to_a_transcription_prompt_is_not_scored(tiny_model_dir):
    from sap2.decode.options import DecodeOptions
    from sap2.model.processor import load_processor
    from sap2.model.prompts import Task

    answer = "Selected keywords are: kaldi.\nTranscription: kaldi lattice"
    decoder = CannedDecoder(load_processor(tiny_model_dir), DecodeOptions("full_context"),
                            {Task.TRANSCRIBE_CONTEXT: answer})  # fmt: skip
    [result] = decoder._decode([np.zeros(16000, np.float32)], [["kaldi", "lattice"]])
    assert result == {
        "hyp": "", "outputs": [answer],
        "problems": ["transcribe_context: multitask answer to a transcription prompt"],
    }  # fmt: skip


def test_a_decoding_condition_file_sets_the_options_and_the_command_line_wins(
    tiny_model_dir, test_cuts, tmp_path, capsys
):
    condition = tmp_path / "two_stage_w1.yaml"
    condition.write_text("mode: two_stage\nsap-window-size: 1\nempty_keywords: span\n"
                         "max_new_tokens: 5\nrepetition_penalty: 1.2\n")  # fmt: skip
    assert run_decode(tiny_model_dir, test_cuts, tmp_path / "a", "--config", str(condition)) == 0
    options = json.loads((tmp_path / "a" / "decode_options.json").read_text())
    # run_decode passes --max-new-tokens 6 on the command line: it wins over the file's 5.
    assert (options["mode"], options["sap_window_size"], options["empty_keywords"],
            options["max_new_tokens"], options["repetition_penalty"]) == (
        "two_stage", 1, "span", 6, 1.2)  # fmt: skip
    for text, message in (("num_beams: 0\n", "num_beams: expected an integer > 0, got 0"),
                          ("mode: fast\n", "mode: 'fast' is not one of two_stage"),
                          ("beams: 2\n", "unknown option 'beams'")):  # fmt: skip
        condition.write_text(text)
        assert (
            run_decode(tiny_model_dir, test_cuts, tmp_path / "b", "--config", str(condition)) == 1
        )
        assert f"{condition}: {message}" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()


def test_the_automatic_token_budget_holds_a_whole_multitask_answer(tiny_model_dir):
    from sap2.decode.decoder import Decoder
    from sap2.decode.options import DecodeOptions
    from sap2.model.processor import Example, load_processor
    from sap2.model.prompts import Task, target_text

    processor = load_processor(tiny_model_dir)
    decoder = Decoder(None, processor, DecodeOptions("multitask"))
    context = [f"term{i}" for i in range(30)]
    seconds = 3
    transcript = " ".join(["speech"] * (4 * seconds))  # fast speech: 4 words a second
    # The longest answer: every context word selected, then the transcript.
    answer = target_text(Task.MULTITASK, transcript, context)
    example = Example(np.zeros(16000 * seconds, np.float32), Task.MULTITASK, context)
    tokens = len(processor.tokenizer(answer, add_special_tokens=False)["input_ids"])
    assert decoder.budget([example]) >= tokens + 1  # and the end token


def test_decode_folder_records_its_context_and_provenance(tiny_model_dir, test_cuts, tmp_path):
    out = tmp_path / "full"
    assert run_decode(tiny_model_dir, test_cuts, out, "--mode", "full_context") == 0
    cuts = CutSet.from_file(test_cuts)
    assert (out / "context.txt").read_text() == "".join(
        f"{c.id} {'$'.join(c.custom['context'])}\n" for c in sorted(cuts, key=lambda c: c.id)
    )
    provenance = json.loads((out / "decode_stats.json").read_text())["provenance"]
    assert provenance["command"][0] == "sap2-decode"
    assert (
        provenance["inputs"]["cuts"]["sha256"] == hashlib.sha256(test_cuts.read_bytes()).hexdigest()
    )
    config_hash = hashlib.sha256((tiny_model_dir / "config.json").read_bytes()).hexdigest()
    assert provenance["model_config_sha256"] == config_hash
    assert "adapter_weights_sha256" not in provenance  # no adapter
    assert provenance["options"]["mode"] == "full_context"
    assert provenance["versions"]["torch"] == metadata.version("torch")
    assert provenance["versions"]["transformers"] == metadata.version("transformers")
    # no context read, no context.txt
    assert run_decode(tiny_model_dir, test_cuts, tmp_path / "none", "--mode", "no_context") == 0
    assert not (tmp_path / "none" / "context.txt").exists()

    # split jobs: the merged folder has every job's context and the jobs' provenance
    assert split_cuts(["--cuts", str(test_cuts), "--num-jobs", "2", "--out-dir",
                       str(tmp_path / "split2")]) == 0  # fmt: skip
    jobs = [tmp_path / "split2" / str(j) for j in (1, 2)]
    for j, job in enumerate(jobs, start=1):
        job_cuts = tmp_path / "split2" / f"cuts.{j}.jsonl.gz"
        assert run_decode(tiny_model_dir, job_cuts, job, "--mode", "full_context") == 0
    assert merge_decodes([*map(str, jobs), "--out-dir", str(tmp_path / "merged")]) == 0
    assert (tmp_path / "merged" / "context.txt").read_text() == (out / "context.txt").read_text()
    merged = json.loads((tmp_path / "merged" / "decode_stats.json").read_text())
    assert merged["provenance"]["model_config_sha256"] == config_hash


def test_model_hashes_of_an_adapter(tmp_path):
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "config.json").write_text("{}")
    (tmp_path / "lora").mkdir()
    (tmp_path / "lora" / "adapter_model.safetensors").write_bytes(b"weights")
    (tmp_path / "lora" / "adapter_config.json").write_text("{}")
    hashes = model_hashes(tmp_path / "base", tmp_path / "lora")
    assert hashes == {
        "model_config_sha256": hashlib.sha256(b"{}").hexdigest(),
        "adapter_weights_sha256": hashlib.sha256(b"weights").hexdigest(),
    }
