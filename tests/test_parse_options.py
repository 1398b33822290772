"""utils/parse_options.sh: Kaldi-style --name value options for recipe scripts."""

import subprocess

import pytest
from conftest import REPO

SCRIPT = """#!/usr/bin/env bash
set -euo pipefail
stage=0          # first stage
stop_stage=100   # last stage
model_dir=exp/model
use_gpu=true
help_message="Usage: demo.sh [options] <data-dir>"
. {utils}/parse_options.sh
echo "stage=${{stage}} stop_stage=${{stop_stage}} model_dir=${{model_dir}} use_gpu=${{use_gpu}}"
echo "positional=$#:$*"
"""


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "demo.sh"
    path.write_text(SCRIPT.format(utils=REPO / "utils"))
    return path


def run(script, *args):
    return subprocess.run(
        ["bash", str(script), *args], capture_output=True, text=True, cwd=script.parent
    )


def test_defaults_and_overrides(script):
    out = run(script, "--stage", "3", "--stop-stage", "5", "--model-dir", "exp/with space")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "stage=3 stop_stage=5 model_dir=exp/with space use_gpu=true",
        "positional=0:",
    ]


def test_positional_arguments_are_left(script):
    out = run(script, "--stage", "2", "data/test", "extra")
    assert out.stdout.splitlines()[1] == "positional=2:data/test extra"


def test_values_are_not_evaluated(script):
    out = run(script, "--model-dir", "$(echo pwned)`id`")
    assert "model_dir=$(echo pwned)`id`" in out.stdout


def test_help_prints_the_help_message(script):
    out = run(script, "--help")
    assert out.returncode == 0
    assert out.stdout.strip() == "Usage: demo.sh [options] <data-dir>"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--nstage", "3"], "unknown option '--nstage'"),
        (["--stage=3"], "write '--stage 3' instead of '--stage=3'"),
        (["--use-gpu", "yes"], "option '--use-gpu' takes true or false, got 'yes'"),
        (["--stage"], "option '--stage' needs a value"),
        (["--config", "missing.conf"], "config file 'missing.conf' not found"),
    ],
)
def test_usage_errors(script, args, message):
    out = run(script, *args)
    assert out.returncode == 2
    assert message in out.stderr
    assert out.stdout == ""


def test_config_file_is_read_first_and_command_line_wins(script, tmp_path):
    conf = tmp_path / "my.conf"
    conf.write_text("stage=7\nmodel_dir=exp/from_conf\n")
    out = run(script, "--stage", "9", "--config", str(conf))
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0] == (
        "stage=9 stop_stage=100 model_dir=exp/from_conf use_gpu=true"
    )
