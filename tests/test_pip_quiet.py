"""bin/pip-quiet drops pip's warnings about missing index locations, and only those: every other
line, errors included, and the exit status pass through (bin/setup runs pip through it)."""

import subprocess
import sys
from pathlib import Path

PIP_QUIET = Path(__file__).resolve().parents[1] / "bin" / "pip-quiet"
NOISE = "WARNING: Location 'file:///opt/pypi-more/simple/six/' is ignored: it is neither a file nor a directory."


def run(script: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(PIP_QUIET), sys.executable, "-u", "-c", script], capture_output=True, text=True)


def test_the_location_warnings_go_and_everything_else_stays():
    script = (
        "import sys\n"
        f"print({NOISE!r})\n"
        "print('Collecting six')\n"
        f"print({NOISE!r}, file=sys.stderr)\n"
        "print('WARNING: Retrying after connection broken', file=sys.stderr)\n"
        "print('ERROR: No matching distribution found for nothing-here', file=sys.stderr)\n"
        "sys.exit(3)\n"
    )
    done = run(script)
    lines = done.stdout.splitlines()
    assert done.returncode == 3, "pip's exit status passes through"
    assert "is ignored: it is neither a file nor a directory" not in done.stdout + done.stderr
    assert lines == [
        "Collecting six",
        "WARNING: Retrying after connection broken",
        "ERROR: No matching distribution found for nothing-here",
    ]


def test_a_quiet_success_stays_a_success():
    done = run(f"print({NOISE!r})")
    assert done.returncode == 0 and done.stdout == ""
