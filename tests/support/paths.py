"""Where the tests find the repository and the recordings of a real Asterisk."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
#: the recordings the tests read, kept in the repository (tests/fixtures/ami/README.md)
FIXTURES = REPO / "tests" / "fixtures" / "ami"
#: recorded from a real Asterisk driven by a hand-written router, or $ACD_TRANSCRIPTS
TRANSCRIPTS = Path(os.environ.get("ACD_TRANSCRIPTS") or FIXTURES / "recorded")
#: our router itself against a real Asterisk 22.10.1, with the project's dialplans
LIVE = FIXTURES / "live"


def transcript(name: str) -> bytes:
    return (TRANSCRIPTS / name).read_bytes()


def all_event_transcripts() -> list[Path]:
    return sorted(TRANSCRIPTS.glob("*.events.ami"))
#: the third round of those recordings (Asterisk 22.10.1, real SIP phones in t3-23):
#: a subset of the runs, with the recordings' own README
LIVE_T3 = LIVE / "t3"
