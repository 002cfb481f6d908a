"""The pure engine taking back a saved state, and the periodic reconciliation."""

from __future__ import annotations

from acd.ami import events as ev
from acd.config import Config
from acd.core import facts as f
from acd.core import inputs as i
from acd.core.engine import Engine
from acd.core.model import AgentState, CallState
from tests.support.enginekit import Driver, agent_state, saved


def waiting(engine: Engine, queue: str = "ARM_N1") -> list[str]:
    return [c.channel for c in engine.waiting_calls(queue)]


def entry(channel: str, uniqueid: str, *, bridged: bool = False, application: str = "MusicOnHold",
          number: str = "15", arrived: float | None = None,
          context: str = "holding") -> ev.StatusEntry:
    variables = {"ACD_NUMBER": number}
    if arrived is not None:
        variables["ACD_ARRIVED"] = f"{arrived:.3f}"
    return ev.StatusEntry(channel=channel, uniqueid=uniqueid, linkedid=uniqueid,
                          bridge_id="b-1" if bridged else "", application=application,
                          variables=variables, context=context)


def busy_room(config: Config) -> tuple[Driver, list[str], str]:
    """arm01 talking with the first caller; arm02 and amu01 paused; four callers
    waiting: a priority-1 caller ahead of three others, the first of which was put
    back after arm02 missed its offer."""
    d = Driver(config)
    d.feed(i.AgentPause("arm02", reason="lunch"))
    d.feed(i.AgentPause("amu01", reason="training"))
    first = d.call()
    leg = d.ring(first, "PJSIP/arm01")
    d.answer(first, leg)
    a, b = d.call(), d.call()
    d.feed(i.AgentReady("arm02"))  # offered a
    leg2 = d.ring(a, "PJSIP/arm02")
    d.feed(i.AgentPause("arm02", reason="lunch"))  # asked while ringing: applied after
    d.dial_fail(a, leg2)
    c, e = d.call(priority="1"), d.call()
    assert waiting(d.engine) == [c, a, b, e]
    return d, [a, b, c, e], first


def test_restore_brings_back_queues_agents_and_calls(site_config: Config) -> None:
    d, callers, first = busy_room(site_config)
    before = {c.channel: c for c in d.engine.calls.values()}
    engine = Engine(site_config)
    out = engine.handle(i.StateRestored(saved(d.engine)), 5000.0)
    assert out.commands == []  # nothing is routed before the resync
    assert waiting(engine) == [callers[2], callers[0], callers[1], callers[3]]
    for call in engine.calls.values():
        assert call.arrived_at == before[call.channel].arrived_at
        assert call.legs == before[call.channel].legs
        assert call.tier == before[call.channel].tier
    talking = engine.calls["u1"]
    assert talking.state is CallState.CONNECTED and talking.answered_by == "arm01"
    agents = engine.agents
    assert (agents["arm01"].state, agents["arm01"].call) == (AgentState.ON_CALL, "u1")
    assert (agents["arm02"].state, agents["arm02"].pause_reason) == (AgentState.PAUSED, "lunch")
    assert agents["amu01"].pause_reason == "training"
    assert agents["arm02"].missed_offers == d.engine.agents["arm02"].missed_offers == 1
    restored = [x for x in out.facts if isinstance(x, f.StateRestored)]
    assert [(x.calls, x.waiting) for x in restored] == [(5, 4)]
    # a new call after the restart is served after the restored ones of its priority
    assert engine.state.seq >= max(c.seq for c in engine.calls.values())
    assert first in engine.state.by_channel


def test_resync_after_restore_closes_gone_calls_and_picks_up_new_ones(
        site_config: Config) -> None:
    d, callers, first = busy_room(site_config)
    engine = Engine(site_config)
    engine.handle(i.StateRestored(saved(d.engine)), 5000.0)
    # while the router was away: caller a hung up; a new caller arrived at 4990
    channels = [entry(first, "u1", bridged=True, application="Dial"),
                entry("PJSIP/arm01-00000099", "a1", bridged=True, application="AppDial"),
                entry(callers[1], "u4"), entry(callers[2], "u6"), entry(callers[3], "u7"),
                entry("PJSIP/trunk-new", "u9", arrived=4990.0)]
    out = engine.handle(i.ChannelsSnapshot(channels, taken_at=5001.0), 5001.0)
    ended = [x for x in out.facts if isinstance(x, f.CallEnded)]
    assert [(x.call, x.outcome, x.record.ended_unobserved) for x in ended] == [
        ("u3", "abandoned", True)]
    assert waiting(engine) == [callers[2], callers[1], callers[3], "PJSIP/trunk-new"]
    assert engine.calls["u9"].arrived_at == 4990.0
    assert engine.agents["arm01"].state is AgentState.ON_CALL
    assert engine.agents["arm02"].state is AgentState.PAUSED
    assert out.commands == []  # nobody free: the callers keep waiting, nobody hung up


def test_an_answered_call_that_ended_while_away_is_closed_answered(
        site_config: Config) -> None:
    d, _callers, _first = busy_room(site_config)
    engine = Engine(site_config)
    engine.handle(i.StateRestored(saved(d.engine)), 5000.0)
    out = engine.handle(i.ChannelsSnapshot([], taken_at=5001.0), 5001.0)
    outcomes = {x.call: x.outcome for x in out.facts if isinstance(x, f.CallEnded)}
    assert outcomes == {"u1": "answered", "u3": "abandoned", "u4": "abandoned",
                        "u6": "abandoned", "u7": "abandoned"}
    assert engine.agents["arm01"].state is AgentState.WRAP_UP  # its call ended: wrap-up
    out = engine.handle(i.Tick(), 5001.0 + 5.0)
    assert agent_state(engine.agents["arm01"]) is AgentState.AVAILABLE


def test_timers_of_restored_calls_run_again_after_the_resync(site_config: Config) -> None:
    d = Driver(site_config)
    for agent in ("arm02", "amu01"):
        d.feed(i.AgentPause(agent))
    caller = d.call()  # offered to arm01 at once; its phone rings
    d.ring(caller, "PJSIP/arm01")
    engine = Engine(site_config)
    engine.handle(i.StateRestored(saved(d.engine)), 2000.0)
    assert engine.next_deadline() is None  # no timer before Asterisk's time is known
    engine.handle(i.ChannelsSnapshot([entry(caller, "u1", application="Dial")],
                                     taken_at=2000.0), 2000.0)
    assert engine.calls["u1"].state is CallState.OFFERED
    out = engine.handle(i.Tick(), 2000.0 + 10 + 2)  # ring_timeout_s + ring_grace_s
    assert [x.reason for x in out.facts if isinstance(x, f.CallReturned)] == ["ring time-out"]


def test_restore_keeps_bascules_and_is_refused_once_calls_are_known(
        site_config: Config) -> None:
    d = Driver(site_config)
    d.feed(i.BasculeRequest("ARM_N1", 0.5, by="cadre", reason="exercise"))
    state = saved(d.engine)
    engine = Engine(site_config)
    engine.handle(i.StateRestored(state), 1000.0)
    assert engine.bascules["ARM_N1"].share == 0.5 and engine.bascules["ARM_N1"].by == "cadre"
    busy = Driver(site_config)
    busy.call()
    out = busy.feed(i.StateRestored(state))
    assert [x.input for x in out.facts if isinstance(x, f.InputIgnored)] == ["StateRestored"]


# ---------------------------------------------------------------- periodic reconcile

def test_reconcile_repairs_a_gone_call_only_when_two_lists_agree(site_config: Config) -> None:
    d = Driver(site_config)
    caller = d.call()
    leg = d.ring(caller, "PJSIP/arm01")
    d.answer(caller, leg)
    first = d.feed(i.Reconcile([], taken_at=d.now + 5), d.now + 5)
    assert not [x for x in first.facts if isinstance(x, f.StateRepaired)]
    second = d.feed(i.Reconcile([], taken_at=d.now + 5), d.now + 5)
    repairs = [(x.kind, x.subject) for x in second.facts if isinstance(x, f.StateRepaired)]
    assert repairs == [("call_gone", "u1")]
    assert [x.outcome for x in second.facts if isinstance(x, f.CallEnded)] == ["answered"]
    assert d.engine.agents["arm01"].state is AgentState.WRAP_UP


def test_reconcile_leaves_alone_what_an_event_settled_between_two_lists(
        site_config: Config) -> None:
    d = Driver(site_config)
    caller = d.call()
    leg = d.ring(caller, "PJSIP/arm01")
    d.answer(caller, leg)
    d.feed(i.Reconcile([], taken_at=d.now + 1), d.now + 1)
    d.hangup(caller)  # the Hangup was only late
    out = d.feed(i.Reconcile([], taken_at=d.now + 1), d.now + 1)
    assert not [x for x in out.facts if isinstance(x, f.StateRepaired)]


def test_reconcile_frees_an_agent_whose_channel_is_gone(site_config: Config) -> None:
    d = Driver(site_config)
    caller = d.call()
    leg = d.ring(caller, "PJSIP/arm01")
    d.answer(caller, leg)
    still_there = [entry(caller, "u1", bridged=True, application="Dial")]
    d.feed(i.Reconcile(still_there, taken_at=d.now + 5), d.now + 5)
    out = d.feed(i.Reconcile(still_there, taken_at=d.now + 5), d.now + 5)
    assert [(x.kind, x.subject) for x in out.facts if isinstance(x, f.StateRepaired)] == [
        ("agent_gone", "u1")]
    assert d.engine.calls["u1"].state is CallState.HELD  # the caller waits again soon
    d.advance(3)  # orphan_requeue_s
    assert d.engine.calls["u1"].state in (CallState.WAITING, CallState.OFFERED)


def test_reconcile_picks_up_an_unknown_waiting_caller(site_config: Config) -> None:
    d = Driver(site_config)
    for agent in ("arm01", "arm02", "amu01"):
        d.feed(i.AgentPause(agent))
    stranger = [entry("PJSIP/trunk-x", "ux", arrived=d.now - 30)]
    ringing_agent = entry("PJSIP/arm01-0000abcd", "ua", application="AppDial",
                          context="agents")  # an agent's leg carries the caller's variables
    d.feed(i.Reconcile([*stranger, ringing_agent], taken_at=d.now), d.now)
    assert "ux" not in d.engine.calls
    out = d.feed(i.Reconcile([*stranger, ringing_agent], taken_at=d.now), d.now)
    # (arm01's phone has a channel: busy, from the list)
    assert [x.kind for x in out.facts if isinstance(x, f.StateRepaired)] == ["device_busy",
                                                                             "call_found"]
    assert d.engine.calls["ux"].arrived_at == d.now - 30
    assert waiting(d.engine) == ["PJSIP/trunk-x"]


def test_reconcile_waits_while_the_link_is_down(site_config: Config) -> None:
    d = Driver(site_config)
    d.call()
    d.feed(i.LinkDown("lost"))
    for _ in range(2):
        out = d.feed(i.Reconcile([], taken_at=d.now + 5), d.now + 5)
        assert out.facts == []


def test_a_restored_call_gone_just_before_the_resync_is_closed(site_config: Config) -> None:
    d = Driver(site_config)
    for agent in ("arm01", "arm02", "amu01"):
        d.feed(i.AgentPause(agent))
    d.call()
    engine = Engine(site_config)
    engine.handle(i.StateRestored(saved(d.engine)), d.now)
    # the list is asked for within a second of the call's arrival: the margin that
    # spares calls announced while a list is built does not apply to restored ones
    out = engine.handle(i.ChannelsSnapshot([], taken_at=d.now + 0.5), d.now + 0.5)
    assert [x.outcome for x in out.facts if isinstance(x, f.CallEnded)] == ["abandoned"]


def test_agents_in_wrap_up_and_logged_out_come_back_so(site_config: Config) -> None:
    d = Driver(site_config)
    d.feed(i.AgentLogout("arm02"))
    d.feed(i.AgentPause("amu01"))
    caller = d.call()
    leg = d.ring(caller, "PJSIP/arm01")
    d.answer(caller, leg)
    d.hangup(caller)  # arm01 in wrap-up until now + 5 s
    d.engine.partner_down_until["sas62"] = d.now + 60
    until = d.engine.agents["arm01"].wrap_up_until
    engine = Engine(site_config)
    engine.handle(i.StateRestored(saved(d.engine)), d.now + 1)
    agents = engine.agents
    assert (agents["arm01"].state, agents["arm01"].wrap_up_until) == (AgentState.WRAP_UP,
                                                                      until)
    assert agents["arm02"].state is AgentState.LOGGED_OUT
    assert engine.partner_down_until == {"sas62": d.now + 60}
    engine.handle(i.ChannelsSnapshot([], taken_at=d.now + 1), d.now + 1)
    assert agents["arm01"].state is AgentState.WRAP_UP
    engine.handle(i.Tick(), until)  # the wrap-up timer was armed again
    assert agent_state(agents["arm01"]) is AgentState.AVAILABLE
    assert agents["arm02"].state is AgentState.LOGGED_OUT


def test_a_saved_busy_phone_with_no_channel_now_takes_calls_again(
        site_config: Config) -> None:
    d = Driver(site_config)
    for agent in ("arm02", "amu01"):
        d.feed(i.AgentPause(agent))
    d.feed(ev.DeviceStateChange(device="PJSIP/arm01", state="INUSE"))  # a private call
    caller = d.call()
    assert d.engine.agents["arm01"].device_busy and d.offers() == []
    engine = Engine(site_config)
    engine.handle(i.StateRestored(saved(d.engine)), d.now)
    # while the router was away the private call ended (its NOT_INUSE was missed)
    out = engine.handle(i.ChannelsSnapshot([entry(caller, "u1")], taken_at=d.now + 2),
                        d.now + 2)
    assert [x.agent for x in out.facts if isinstance(x, f.CallOffered)] == ["arm01"]
