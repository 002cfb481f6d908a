"""Invariants of the engine under random sequences of Asterisk events and intents."""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from acd.ami import actions as act
from acd.ami import events as ev
from acd.config import with_routing
from acd.config.load import parse_config
from acd.core import facts as f
from acd.core import inputs as i
from acd.core.model import AgentState, CallState
from acd.core.timerkind import TimerKind
from tests.support.enginekit import Driver
from tests.support.sites import SITE_TOML

AGENTS = ["arm01", "arm02", "amu01", "mg01"]
PARTNERS = b"""
[[partners]]
name = "sas62"
dial = "PJSIP/sas62/15"
ring_timeout_s = 20

[overflow.ARM_N1]
max_waiting = 2
max_wait_s = 60
"""
DIAL_FAILURES = ["NOANSWER", "BUSY", "CHANUNAVAIL", "CANCEL", "CONGESTION"]


class EngineMachine(RuleBasedStateMachine):
    #: phones rung at once for one caller (``[routing] ring_phones``)
    ring_phones = 1

    def __init__(self) -> None:
        super().__init__()
        config = parse_config(SITE_TOML + PARTNERS)
        self.d = Driver(with_routing(config, ring_phones=self.ring_phones))
        self.live_channels: set[str] = set()
        self.caller_hangups = 0
        #: (caller channel, agent) → that agent's ringing or answered leg
        self.legs: dict[tuple[str, str], str] = {}

    # ---------------------------------------------------------------- inputs

    @rule(number=st.sampled_from(["15", "116117", "999"]),
          priority=st.sampled_from([None, "0", "3", "9", "x"]))
    def call_arrives(self, number: str, priority: str | None) -> None:
        self.live_channels.add(self.d.call(number, priority))

    @precondition(lambda self: self.offered())
    @rule(data=st.data())
    def phone_rings(self, data: st.DataObject) -> None:
        call = data.draw(st.sampled_from(self.offered()))
        name = data.draw(st.sampled_from([a for a in call.ringing_agents()
                                          if (call.channel, a) not in self.legs]))
        agent = self.d.engine.agents[name]
        self.legs[call.channel, name] = self.d.ring(call.channel, agent.device)

    @precondition(lambda self: self.ringing_legs())
    @rule(data=st.data(), answer=st.booleans(), status=st.sampled_from(DIAL_FAILURES))
    def dial_ends(self, data: st.DataObject, answer: bool, status: str) -> None:
        key, leg = data.draw(st.sampled_from(self.ringing_legs()))
        if answer:
            self.d.answer(key[0], leg)
        else:
            self.d.dial_fail(key[0], leg, status)
            self.legs.pop(key)

    @precondition(lambda self: self.live_channels)
    @rule(data=st.data())
    def caller_hangs_up(self, data: st.DataObject) -> None:
        channel = data.draw(st.sampled_from(sorted(self.live_channels)))
        self.live_channels.discard(channel)
        self.forget_legs(channel)
        self.caller_hangups += 1
        self.d.hangup(channel)

    @precondition(lambda self: self.legs)
    @rule(data=st.data())
    def agent_leg_hangs_up(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(sorted(self.legs)))
        self.d.feed(ev.Hangup(channel=self.legs.pop(key)))

    @precondition(lambda self: self.d.commands)
    @rule(data=st.data())
    def an_action_fails(self, data: st.DataObject) -> None:
        command = data.draw(st.sampled_from(self.d.commands[-6:]))
        self.d.feed(i.ActionFailed(command.ref, command.name, "Channel not found"))

    @rule(agent=st.sampled_from(AGENTS),
          intent=st.sampled_from(["login", "logout", "pause", "ready"]))
    def agent_intent(self, agent: str, intent: str) -> None:
        cls = {"login": i.AgentLogin, "logout": i.AgentLogout, "pause": i.AgentPause,
               "ready": i.AgentReady}[intent]
        self.d.feed(cls(agent))

    @rule(agent=st.sampled_from(AGENTS), state=st.sampled_from(["INUSE", "NOT_INUSE",
                                                                 "UNAVAILABLE"]))
    def device_state(self, agent: str, state: str) -> None:
        device = self.d.engine.agents[agent].device
        self.d.feed(ev.DeviceStateChange(device=device, state=state))

    @precondition(lambda self: self.d.engine.calls)
    @rule(data=st.data(), queue=st.sampled_from(["ARM_N1", "AMU_N2", "MG", "OSNP", "X"]),
          by_agent=st.booleans())
    def transfer(self, data: st.DataObject, queue: str, by_agent: bool) -> None:
        call = data.draw(st.sampled_from(sorted(self.d.engine.calls.values(),
                                                key=lambda c: c.id)))
        if by_agent and call.agent:
            self.d.feed(i.TransferRequest(queue, agent=call.agent))
        else:
            self.d.feed(i.TransferRequest(queue, call=call.id, by="supervisor"))
        self.forget_legs(call.channel)  # Asterisk hangs up the old agent's legs

    @rule(share=st.sampled_from([0.0, 0.5, 1.0]), queue=st.sampled_from(["*", "ARM_N1"]))
    def bascule(self, share: float, queue: str) -> None:
        self.d.feed(i.BasculeRequest(queue, share, by="supervisor", reason="test"))

    @precondition(lambda self: self.overflowing())
    @rule(data=st.data(), status=st.sampled_from(["ANSWER", "BUSY", "NOANSWER", "CANCEL"]))
    def partner_dial(self, data: st.DataObject, status: str) -> None:
        call = data.draw(st.sampled_from(self.overflowing()))
        leg = f"PJSIP/sas62-{call.id}"
        self.d.feed(ev.DialBegin(channel=call.channel, dest_channel=leg))
        self.d.feed(ev.DialEnd(channel=call.channel, dest_channel=leg, dial_status=status))

    @rule(seconds=st.sampled_from([0.5, 1.0, 5.0, 13.0, 30.0]))
    def time_passes(self, seconds: float) -> None:
        self.d.advance(seconds)

    @rule()
    def link_bounces(self) -> None:
        self.d.feed(i.LinkDown("test"))
        live = [ev.StatusEntry(channel=c, variables={"ACD_NUMBER": "15"})
                for c in sorted(self.live_channels)]
        self.d.feed(i.ChannelsSnapshot(live, taken_at=self.d.now))

    # ---------------------------------------------------------------- helpers

    def offered(self) -> list:  # type: ignore[type-arg]
        return [c for c in self.d.engine.calls.values()
                if c.state is CallState.OFFERED
                and any((c.channel, a) not in self.legs for a in c.ringing_agents())]

    def forget_legs(self, channel: str) -> None:
        for key in [key for key in self.legs if key[0] == channel]:
            del self.legs[key]

    def overflowing(self) -> list:  # type: ignore[type-arg]
        return [c for c in self.d.engine.calls.values()
                if c.state is CallState.OVERFLOWING and c.overflowed_to is None]

    def ringing_legs(self) -> list[tuple[tuple[str, str], str]]:
        calls = {c.channel: c for c in self.d.engine.calls.values()}
        return [(key, leg) for key, leg in sorted(self.legs.items())
                if key[0] in calls and calls[key[0]].state is CallState.OFFERED]

    # ---------------------------------------------------------------- invariants

    @invariant()
    def one_call_per_agent_and_one_agent_per_call(self) -> None:
        engaged = [c for c in self.d.engine.calls.values()
                   if c.state in (CallState.OFFERED, CallState.CONNECTED)]
        assert None not in [c.agent for c in engaged]
        agents = [a for c in engaged for a in c.ringing_agents()]
        assert len(agents) == len(set(agents)), agents
        for call in engaged:
            assert call.state is CallState.OFFERED or not call.also_ringing, call
            for name in call.ringing_agents():
                agent = self.d.engine.agents[name]
                if not agent.observed:
                    assert agent.call == call.id, (call, agent)

    @invariant()
    def a_busy_agent_has_a_live_call(self) -> None:
        engine = self.d.engine
        for agent in engine.agents.values():
            if agent.state in (AgentState.RINGING, AgentState.ON_CALL):
                call = engine.calls.get(agent.call or "")
                assert call is not None and agent.id in call.ringing_agents(), agent
                assert agent.state is AgentState.RINGING or call.agent == agent.id, agent
                assert call.state in (CallState.OFFERED, CallState.CONNECTED), (agent, call)

    @invariant()
    def no_waiting_call_is_forgotten(self) -> None:
        engine = self.d.engine
        queued = {c.id for q in engine.queues.values() for c in q}
        waiting = {c.id for c in engine.calls.values() if c.state is CallState.WAITING}
        assert queued == waiting
        timers = {(key, token) for _, _, kind, key, token in engine.state.timers
                  if kind is TimerKind.ORPHAN}
        for call in engine.calls.values():
            assert call.queue in engine.queues
            assert call.queues[-1] == call.queue == call.legs[-1].queue
        for call in engine.calls.values():
            if call.state is CallState.HELD:
                assert (call.id, call.offer_id) in timers, call
        ringing = {(key, token) for _, _, kind, key, token in engine.state.timers
                   if kind is TimerKind.OVERFLOW_RING}
        for call in engine.calls.values():
            if call.state is CallState.OVERFLOWING and call.overflowed_to is None:
                assert (call.id, call.offer_id) in ringing, call
        assert {c.channel for c in engine.calls.values()} == self.live_channels

    @invariant()
    def only_callers_end_calls(self) -> None:
        assert not any(isinstance(c, act.Hangup) for c in self.d.commands)
        ended = sum(isinstance(x, f.CallEnded) for x in self.d.facts)
        assert ended == self.caller_hangups

    @invariant()
    def pool_holds_exactly_the_idle_agents(self) -> None:
        engine = self.d.engine
        for agent in engine.agents.values():
            in_pool = any(engine.pool.first(s, lvl) is not None and agent.id in
                          engine.pool._pools[s][lvl] for s, lvl in agent.skills.items()
                          if s in engine.pool._pools and lvl in engine.pool._pools[s])
            # a phone that answered busy is left out a while (BUSY_HOLD_S)
            expected = agent.state is AgentState.AVAILABLE and not agent.device_busy \
                and engine.now >= agent.busy_until
            assert in_pool == expected, agent

    @invariant()
    def no_idle_primary_agent_while_a_call_waits(self) -> None:
        engine = self.d.engine
        if not engine.link_up:
            return
        for name, queue in engine.queues.items():
            if len(queue):
                assert engine.pool.first(name, 1) is None, name


class RingGroupMachine(EngineMachine):
    """The same room ringing up to three phones at once for one caller."""

    ring_phones = 3


TestEngineInvariants = EngineMachine.TestCase
TestEngineInvariants.settings = settings(max_examples=150, stateful_step_count=60,
                                         deadline=None)
TestRingGroupInvariants = RingGroupMachine.TestCase
TestRingGroupInvariants.settings = settings(max_examples=150, stateful_step_count=60,
                                            deadline=None)
