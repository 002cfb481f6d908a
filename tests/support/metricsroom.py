"""The metrics tests' room: a real service fed Asterisk-shaped events on an injected
clock, with its metrics, and a reader of the Prometheus text it renders."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from acd.ami import events as ev
from acd.ami.userevents import UserEventDecoder
from acd.config import Config
from acd.config.load import parse_config
from acd.core import facts as f
from acd.core import inputs as i
from acd.metrics import RouterMetrics
from acd.testing import build_stack
from tests.support.sites import agent, partner, site_toml

CALLER_NUM = "0612345678"
CALLER_NAME = "Hélène Dupré"
SITE = site_toml(
    "SAS metrics", sections={"routing": {"ring_timeout_s": 300}},
    skills={"ARM_N1": {"wrap_up_s": 5, "expansion_s": [20]}, "AMU_N2": {"wrap_up_s": 0}},
    numbers={"15": "ARM_N1", "116117": "ARM_N1"},
    agents=[agent("arm01", ARM_N1=1, logged_in=True), agent("arm02", ARM_N1=1, logged_in=True),
            agent("amu01", AMU_N2=1, ARM_N1=2, logged_in=True), agent("mg01", MG=1)],
    partners=[partner("sas62", down_for_s=300), partner("sas80")])

Sample = tuple[str, tuple[tuple[str, str], ...]]


class Room:
    """A service fed Asterisk-shaped events on an injected clock, with its metrics; a
    UserEvent is typed by its configured name first, as the AMI link does."""

    def __init__(self, config: Config) -> None:
        self.now = 1_000_000.0
        self.service = build_stack(config, clock=lambda: self.now, metrics=True,
                                   records=False).service
        self.router = self.service.router
        assert self.service.metrics is not None
        self.metrics: RouterMetrics = self.service.metrics
        self.inputs = 0
        self._n = 0
        self._decoder = UserEventDecoder(config.dialplan)
        self.submit(i.ChannelsSnapshot([], taken_at=0.0))

    def submit(self, item: object) -> None:
        self.inputs += 1
        if isinstance(item, ev.UserEvent):
            item = self._decoder.typed(item)
        self.router.submit(item)

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def call(self, number: str = "15") -> str:
        """A caller announced by the dialplan; returns its channel."""
        self._n += 1
        channel = f"PJSIP/trunk-{self._n:08x}"
        self.submit(ev.UserEvent(
            channel=channel, uniqueid=f"u{self._n}", linkedid=f"u{self._n}",
            name="AcdCallWaiting", caller_id_num=CALLER_NUM, caller_id_name=CALLER_NAME,
            headers={"Number": number, "Uniqueid": f"u{self._n}", "CallerName": CALLER_NAME}))
        return channel

    def answer(self, channel: str) -> str:
        """The agent the call is offered to picks up; returns the agent's leg."""
        call = next(c for c in self.router.engine.calls.values() if c.channel == channel)
        assert call.agent is not None, "the call was not offered to anyone"
        self._n += 1
        leg = f"{self.router.engine.agents[call.agent].device}-{self._n:08x}"
        self.submit(ev.DialBegin(channel=channel, dest_channel=leg))
        self.submit(ev.DialEnd(channel=channel, dest_channel=leg, dial_status="ANSWER"))
        return leg

    def hangup(self, channel: str) -> None:
        self.submit(ev.Hangup(channel=channel))

    def answered_call(self, wait_s: float, number: str = "15", talk_s: float = 60.0) -> None:
        channel = self.call(number)
        self.advance(wait_s)
        self.answer(channel)
        self.advance(talk_s)
        self.hangup(channel)
        self.advance(10)  # past any wrap-up

    def abandoned_call(self, after_s: float, number: str = "15") -> None:
        channel = self.call(number)
        self.advance(after_s)
        self.hangup(channel)
        self.advance(1)


def scrape(room: Room) -> dict[Sample, float]:
    return parse(room.metrics.render().decode())


def parse(text: str) -> dict[Sample, float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples: dict[Sample, float], name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels``."""
    return sum(v for (n, ls), v in samples.items()
               if n == name and set(labels.items()) <= set(ls))


def full_scrape() -> str:
    """The ``/metrics`` text of a router that has seen every kind of fact the metrics
    count, so every metric family has samples (the dashboard test reads names here)."""
    room = Room(parse_config(SITE, "metrics-site.toml"))
    room.answered_call(12)
    room.abandoned_call(5)
    room.submit(i.AgentPause("arm01", "break"))
    room.call()
    at = room.now
    for fact in (
        f.CallTransferred(at=at, call="x1", from_queue="ARM_N1", to_queue="MG", agent="arm02",
                          result="requested"),
        f.CallOverflowed(at=at, call="x2", queue="ARM_N1", partner="sas62", result="failed"),
        f.BasculeChanged(at=at, queue="ARM_N1", share=0.5, partner="sas80", by="sup",
                         reason="test"),
        f.StateRepaired(at=at, kind="call_gone", subject="x3", detail="test"),
        f.InputIgnored(at=at, input="UserEvent", detail="test"),
        f.OfferBusy(at=at, call="x4", queue="ARM_N1", agent="arm02", until=at + 10),
    ):
        room.metrics.on_fact(fact)
    room.metrics.loop_lag(0.001)
    text = room.metrics.render().decode()
    empty = [family.name for family in text_string_to_metric_families(text)
             if not family.samples]
    assert not empty, f"families without samples: {empty}"
    return text
