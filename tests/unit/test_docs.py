"""The operator guide keeps up with what it documents: every alert, and the bascule
API's request bodies (the install doc's paths: tests/unit/test_systemd_units.py)."""

from __future__ import annotations

import json
import re

from acd.http.wire import BasculeBody, BasculeEndBody
from tests.support.paths import REPO

OPERATIONS = (REPO / "docs" / "operations.md").read_text(encoding="utf-8")
ALERTS = REPO / "deploy" / "prometheus" / "rules" / "acd.alerts.yml"


def test_every_alert_has_its_paragraph() -> None:
    alerts = re.findall(r"^\s*- alert: (\w+)\s*$", ALERTS.read_text(), re.MULTILINE)
    assert len(alerts) >= 7
    for alert in alerts:
        assert f"**`{alert}`**" in OPERATIONS, f"docs/operations.md: no paragraph on {alert}"


def test_bascule_examples_send_the_fields_the_api_reads() -> None:
    bodies = re.findall(r"-X (PUT|DELETE) \S+/api/v1/bascules/(\S+) \\\n.*?-d '(\{.*?\})'",
                        OPERATIONS, re.DOTALL)
    assert {method for method, _q, _b in bodies} == {"PUT", "DELETE"}
    for method, _queue, body in bodies:
        fields = BasculeBody.__struct_fields__ if method == "PUT" \
            else BasculeEndBody.__struct_fields__
        assert set(json.loads(body)) <= set(fields), (method, body)
