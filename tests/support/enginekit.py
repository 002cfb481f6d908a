"""Helpers to drive the pure engine with Asterisk-shaped events."""

from __future__ import annotations

import msgspec

from acd.ami import actions as act
from acd.ami import events as ev
from acd.ami.userevents import UserEventDecoder
from acd.config import Config
from acd.core.engine import Engine, Output
from acd.core.facts import Fact
from acd.core.model import Agent, AgentState, Call, CallState
from acd.core.state import EngineState, capture


def saved(engine: Engine) -> EngineState:
    """The state as it comes back from Redis: through JSON."""
    return msgspec.json.decode(msgspec.json.encode(capture(engine.state)), type=EngineState)


# An ``assert call.state is X`` narrows ``call.state`` for mypy until the end of the
# test, although the next engine step changes it; reading the state through a
# function call is not narrowed.
def call_state(call: Call) -> CallState:
    """The call's state as it is now."""
    return call.state


def agent_state(agent: Agent) -> AgentState:
    """The agent's state as it is now."""
    return agent.state


class Driver:
    """An engine plus a clock and the outputs of every step. It stands where the AMI
    link does: a UserEvent fed to it is typed by its configured name first."""

    def __init__(self, config: Config, *, decide: bool = True, now: float = 1000.0) -> None:
        self.engine = Engine(config, decide=decide)
        self.decoder = UserEventDecoder(config.dialplan)
        self.now = now
        self.commands: list[act.Action] = []
        self.facts: list[Fact] = []
        self._n = 0
        if decide:
            self.feed(ev_snapshot())

    def feed(self, event: object, at: float | None = None) -> Output:
        if at is not None:
            self.now = at
        if isinstance(event, ev.UserEvent):
            event = self.decoder.typed(event)
        out = self.engine.handle(event, self.now)
        self.commands.extend(out.commands)
        self.facts.extend(out.facts)
        return out

    def advance(self, seconds: float) -> Output:
        from acd.core.inputs import Tick

        return self.feed(Tick(), self.now + seconds)

    def call(self, number: str = "15", priority: str | None = None, name: str = "Jean") -> str:
        """A caller announced by the dialplan; returns its channel."""
        self._n += 1
        channel = f"PJSIP/trunk-{self._n:08x}"
        headers = {"Number": number, "Uniqueid": f"u{self._n}", "CallerName": name}
        if priority is not None:
            headers["Priority"] = priority
        self.feed(ev.UserEvent(channel=channel, uniqueid=f"u{self._n}", linkedid=f"u{self._n}",
                               name="AcdCallWaiting", headers=headers,
                               caller_id_num="0612345678"))
        return channel

    def offers(self) -> list[tuple[str, str]]:
        """(caller channel, agent id) of every Redirect to the connect context."""
        return [(c.channel, c.exten) for c in self.commands
                if isinstance(c, act.Redirect) and c.context == "acd-connect"]

    def ring(self, channel: str, agent_device: str) -> str:
        leg = f"{agent_device}-{self._next_leg()}"
        self.feed(ev.DialBegin(channel=channel, dest_channel=leg))
        return leg

    def answer(self, channel: str, leg: str) -> None:
        self.feed(ev.DialEnd(channel=channel, dest_channel=leg, dial_status="ANSWER"))

    def dial_fail(self, channel: str, leg: str, status: str = "NOANSWER") -> None:
        self.feed(ev.DialEnd(channel=channel, dest_channel=leg, dial_status=status))

    def hangup(self, channel: str) -> None:
        self.feed(ev.Hangup(channel=channel))

    def _next_leg(self) -> str:
        self._n += 1
        return f"{self._n:08x}"


def ev_snapshot() -> object:
    from acd.core.inputs import ChannelsSnapshot

    return ChannelsSnapshot([], taken_at=0.0)
