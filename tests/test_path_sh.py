"""path.sh: the recipe environment (utils and the venv on PATH, C locale)."""

import subprocess

from conftest import REPO


def test_path_sh_sets_up_the_environment(tmp_path):
    script = (
        f'set -euo pipefail; . "{REPO}/path.sh"; '
        'command -v parse_options.sh; echo "$LC_ALL $MAIN_ROOT"'
    )
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == str(REPO / "utils" / "parse_options.sh")
    assert lines[1] == f"C {REPO}"
