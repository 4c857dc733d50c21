"""The Quartz 2.3.2 oracle: QuartzOracle.java compiled once per session and run on batches."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).parent
QUARTZ_JAR = Path("/usr/share/java/quartz2.jar")
SLF4J_JAR = Path("/usr/share/java/slf4j-api.jar")
SEP = "\x1f"


@dataclass(frozen=True)
class Request:
    expression: str
    zone: str
    start_ms: int
    count: int


@dataclass(frozen=True)
class Answer:
    kind: str  # OK, PARSE, RUNTIME or HANG
    times: tuple[int, ...] = ()
    offset: int = 0
    message: str = ""


class QuartzOracle:
    """Runs one JVM per batch of requests; every answer is what Quartz itself computes."""

    def __init__(self, java: str, classpath: str) -> None:
        self._java = java
        self._classpath = classpath

    def ask(self, requests: Sequence[Request]) -> list[Answer]:
        for request in requests:
            if SEP in request.expression or "\n" in request.expression:
                raise ValueError(f"cannot send {request.expression!r} to the oracle")
        lines = "".join(
            f"{r.expression}{SEP}{r.zone}{SEP}{r.start_ms}{SEP}{r.count}\n" for r in requests
        )
        done = subprocess.run(
            [self._java, "-Xshare:auto", "-cp", self._classpath, "QuartzOracle"],
            input=lines.encode(),
            capture_output=True,
            timeout=300,
            check=True,
        )
        answers = [_answer(line) for line in done.stdout.decode().splitlines()]
        if len(answers) != len(requests):
            raise RuntimeError(
                f"oracle answered {len(answers)} of {len(requests)}: {done.stderr!r}"
            )
        return answers


def _answer(line: str) -> Answer:
    kind, _, rest = line.partition(SEP)
    if kind == "OK":
        return Answer("OK", tuple(int(t) for t in rest.split(",") if t))
    if kind == "PARSE":
        offset, _, message = rest.partition(SEP)
        return Answer("PARSE", offset=int(offset), message=message)
    if kind == "HANG":
        return Answer("HANG", message="getTimeAfter loops forever")
    return Answer("RUNTIME", message=rest)


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"Quartz differential tests cannot run in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def quartz(tmp_path_factory: pytest.TempPathFactory) -> QuartzOracle:
    java, javac = shutil.which("java"), shutil.which("javac")
    if java is None or javac is None:
        _missing("java and javac are needed (a JDK 11+)")
    if not QUARTZ_JAR.exists():
        _missing(f"{QUARTZ_JAR} is needed (Debian package libquartz2-java)")
    assert java is not None and javac is not None
    out = tmp_path_factory.mktemp("quartz-oracle")
    classpath = os.pathsep.join(str(p) for p in (QUARTZ_JAR, SLF4J_JAR) if p.exists())
    subprocess.run(
        [javac, "-d", str(out), "-cp", classpath, str(HERE / "QuartzOracle.java")],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return QuartzOracle(java, os.pathsep.join([str(out), classpath]))
