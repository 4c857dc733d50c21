"""Each peer gets its own virtual environment, made from PyPI by the bench itself:
``bench/.venvs/<peer>``, from ``bench/peers/<peer>/requirements.txt`` (pinned). It is made
again when the requirements change (a hash of them is kept in the environment)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import venv
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent
PEERS = BENCH / "peers"
VENVS = BENCH / ".venvs"


def python_of(peer: str) -> Path:
    """The interpreter of the peer's environment, made (or remade) when needed."""
    requirements = PEERS / peer / "requirements.txt"
    wanted = hashlib.sha256(requirements.read_bytes()).hexdigest()
    home = VENVS / peer
    python = home / "bin" / "python"
    stamp = home / ".requirements-sha256"
    if python.exists() and stamp.exists() and stamp.read_text().strip() == wanted:
        return python
    print(f"making the {peer} environment in {home} (from PyPI) ...", file=sys.stderr)
    venv.EnvBuilder(clear=True, with_pip=True).create(home)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
         "-r", str(requirements)],
        check=True,
    )  # fmt: skip
    stamp.write_text(wanted)
    return python


if __name__ == "__main__":
    for name in sys.argv[1:]:
        print(python_of(name))
