"""Warm transfers in the pure engine: the first agent keeps the caller until an agent
of the target answers, and keeps it when nobody does. Never a hang-up."""

from __future__ import annotations

import pytest

from acd.ami import actions as act
from acd.ami import events as ev
from acd.config import Config
from acd.config.load import parse_config
from acd.core import facts as f
from acd.core import inputs as i
from acd.core.model import AgentState, CallState
from acd.errors import ConfigError
from tests.support.enginekit import Driver, agent_state, call_state
from tests.support.sites import SITE_TOML, WARM_SITE_TOML, with_backups


def site(extra: bytes = b"") -> Config:
    return parse_config(WARM_SITE_TOML + extra)


def connected(d: Driver, device: str = "PJSIP/arm01") -> tuple[str, str]:
    channel = d.call()
    leg = d.ring(channel, device)
    d.answer(channel, leg)
    d.commands.clear()  # only what the transfer sends is looked at
    return channel, leg


def results(d: Driver) -> list[tuple[str, str, str]]:
    return [(x.to_queue, x.result, x.reason) for x in d.facts
            if isinstance(x, f.CallTransferred)]


def originates(d: Driver) -> list[act.Originate]:
    return [c for c in d.commands if isinstance(c, act.Originate)]


def caller_moves(d: Driver, channel: str) -> list[act.Redirect]:
    return [c for c in d.commands if isinstance(c, act.Redirect) and c.channel == channel]


def warm_answer(d: Driver, agent: str, call: str = "u1", leg: str = "0000beef") -> str:
    channel = f"PJSIP/{agent}-{leg}"
    d.feed(ev.UserEvent(channel=channel, name="AcdWarmAnswered",
                        headers={"Agent": agent, "Call": call}))
    return channel


def record(d: Driver) -> f.CallEnded:
    (ended,) = [x for x in d.facts if isinstance(x, f.CallEnded)]
    return ended


def test_the_first_agent_keeps_the_caller_until_the_target_answers() -> None:
    d = Driver(site())
    channel, leg = connected(d)
    d.now += 40
    d.feed(ev.UserEvent(channel="PJSIP/arm01-0000a1", name="AcdTransfer",
                        headers={"Target": "OSNP"}))
    (ring,) = originates(d)
    assert (ring.channel, ring.context, ring.exten) == ("PJSIP/osnp01", "acd-warm", "osnp01")
    assert ring.variables == ("ACD_WARM_CALL=u1",) and ring.timeout_ms == 10_000
    call = d.engine.calls["u1"]
    assert caller_moves(d, channel) == []  # still bridged with arm01
    assert call.state is CallState.CONNECTED and call.agent == "arm01"
    assert d.engine.agents["arm01"].state is AgentState.ON_CALL
    assert d.engine.agents["osnp01"].state is AgentState.RINGING

    d.now += 4
    peer = warm_answer(d, "osnp01")
    setvar = [c for c in d.commands if isinstance(c, act.Setvar) and c.channel == channel]
    assert (setvar[-1].variable, setvar[-1].value) == ("ACD_WARM_PEER", peer)
    (move,) = caller_moves(d, channel)
    assert (move.context, move.exten) == ("acd-warm-bridge", "osnp01")
    assert agent_state(d.engine.agents["arm01"]) is AgentState.WRAP_UP
    assert agent_state(d.engine.agents["osnp01"]) is AgentState.ON_CALL
    d.feed(ev.Hangup(channel=leg))  # Asterisk hangs up the first agent's legs
    assert call.state is CallState.CONNECTED and call.agent == "osnp01"

    d.now += 100
    d.hangup(channel)
    rec = record(d).record
    assert rec.outcome == "answered" and rec.agent == "arm01" and rec.wait_s == 0.0
    assert rec.queues == ["ARM_N1", "OSNP"]
    # the consultation (4 s) is the first leg's talk time and the second leg's wait
    assert [(x.queue, x.agent, x.wait_s, x.talk_s) for x in rec.legs] == [
        ("ARM_N1", "arm01", 0.0, 44.0), ("OSNP", "osnp01", 4.0, 100.0)]
    assert rec.legs[0].ended_at == rec.legs[1].answered_at  # no overlap counted twice
    assert [(q, r) for q, r, _ in results(d)] == [
        ("OSNP", "requested"), ("OSNP", "ringing"), ("OSNP", "connected")]
    assert agent_state(d.engine.agents["osnp01"]) is AgentState.WRAP_UP
    assert not any(isinstance(c, act.Hangup) for c in d.commands)


def test_the_target_sees_the_callers_number() -> None:
    """Live 06b: the warm Originate showed the dialled number (``<15>``)."""
    d = Driver(site())
    connected(d)
    d.feed(i.TransferRequest("OSNP", agent="arm01"))
    (ring,) = originates(d)
    assert ring.caller_id == '"Jean" <0612345678>'


@pytest.mark.parametrize(("reason", "paused"), [("5", False), ("3", True), ("8", True),
                                                ("0", True)])
def test_a_busy_target_is_not_paused_as_no_answer(reason: str, paused: bool) -> None:
    """Live 06f: a busy target (OriginateResponse Reason 5) was paused "no answer"."""
    d = Driver(site())
    connected(d)
    d.engine.agents["osnp01"].missed_offers = 1  # one more miss pauses (max 2)
    d.feed(i.TransferRequest("OSNP", agent="arm01"))
    d.feed(ev.OriginateResponse(response="Failure", channel="PJSIP/osnp01", reason=reason))
    osnp01 = d.engine.agents["osnp01"]
    assert (osnp01.state is AgentState.PAUSED) is paused
    assert [o.channel for o in originates(d)] == ["PJSIP/osnp01", "PJSIP/osnp02"]


def test_no_answer_tries_the_next_agent_then_the_first_agent_keeps_the_caller() -> None:
    d = Driver(site())
    channel, _leg = connected(d)
    d.feed(i.TransferRequest("OSNP", agent="arm01"))
    d.now += 10
    d.feed(ev.OriginateResponse(response="Failure", channel="PJSIP/osnp01", reason="3"))
    assert [o.channel for o in originates(d)] == ["PJSIP/osnp01", "PJSIP/osnp02"]
    d.advance(12)  # osnp02's ring time-out (10 s) and grace (2 s): nobody left to ring
    assert d.engine.agents["osnp02"].state is AgentState.AVAILABLE
    assert len(originates(d)) == 2
    d.advance(10)  # 32 s after the request: over warm_max_wait_s
    assert results(d)[-1] == ("OSNP", "cancelled", "no agent of OSNP free within 30 s")
    call = d.engine.calls["u1"]
    assert call.state is CallState.CONNECTED and call.agent == "arm01"
    assert call.queues == ["ARM_N1"]
    assert caller_moves(d, channel) == []  # nothing moved: arm01 still talks with it
    late = warm_answer(d, "osnp02")  # a late pick-up changes nothing
    assert caller_moves(d, channel) == [] and late
    assert isinstance(d.facts[-1], f.InputIgnored)
    d.now += 30
    d.hangup(channel)
    assert [(x.queue, x.agent) for x in record(d).record.legs] == [("ARM_N1", "arm01")]


def test_an_agent_freed_within_the_limit_is_rung_before_the_queues() -> None:
    d = Driver(site())
    d.feed(i.AgentPause("osnp01"))
    d.feed(i.AgentPause("osnp02"))
    _channel, _leg = connected(d)
    d.feed(i.TransferRequest("OSNP", agent="arm01"))
    assert originates(d) == []
    d.advance(20)
    d.feed(i.AgentReady("osnp02"))
    (ring,) = originates(d)
    assert ring.channel == "PJSIP/osnp02"
    assert d.engine.warm["u1"].target == "osnp02"


def test_nobody_logged_in_for_the_target_cancels_at_once() -> None:
    d = Driver(site())
    channel, _leg = connected(d)
    d.feed(i.TransferRequest("MG", agent="arm01"))  # mg01 is logged out
    assert results(d)[-1] == ("MG", "cancelled", "no agent logged in for MG")
    assert originates(d) == [] and caller_moves(d, channel) == []
    assert d.engine.calls["u1"].agent == "arm01" and "u1" not in d.engine.warm


def test_fallback_to_the_original_queue_moves_the_caller_to_its_head() -> None:
    d = Driver(site(b'fallback = ["original_queue"]\n'))
    channel, _leg = connected(d)
    d.feed(i.TransferRequest("MG", agent="arm01"))
    assert results(d)[-1][1] == "fallback_original_queue"
    assert d.offers()[-1] == (channel, "arm02")  # out of arm01's bridge, to arm02
    call = d.engine.calls["u1"]
    assert call.queues == ["ARM_N1", "ARM_N1"] and call.state is CallState.OFFERED


def test_the_caller_hanging_up_during_the_consultation_frees_the_target() -> None:
    d = Driver(site())
    channel, _leg = connected(d)
    d.feed(i.TransferRequest("OSNP", agent="arm01"))
    d.now += 3
    d.hangup(channel)
    assert results(d)[-1] == ("OSNP", "cancelled", "caller hung up")
    assert d.engine.agents["osnp01"].state is AgentState.AVAILABLE
    assert d.engine.warm == {}
    rec = record(d).record
    assert rec.outcome == "answered" and rec.queues == ["ARM_N1"]
    warm_answer(d, "osnp01")  # answered after the caller left: ignored
    assert caller_moves(d, channel) == []


def test_the_first_agent_hanging_up_during_the_consultation_frees_the_target() -> None:
    d = Driver(site())
    _channel, leg = connected(d)
    d.feed(i.TransferRequest("OSNP", agent="arm01"))
    d.feed(ev.Hangup(channel=leg))
    assert results(d)[-1] == ("OSNP", "cancelled", "transferring agent hung up")
    assert d.engine.agents["osnp01"].state is AgentState.AVAILABLE


def test_a_failed_originate_counts_as_no_answer() -> None:
    d = Driver(site())
    connected(d)
    d.feed(i.TransferRequest("OSNP", agent="arm01"))
    (ring,) = originates(d)
    d.feed(i.ActionFailed(ref=ring.ref, action="Originate", message="Permission denied"))
    assert [o.channel for o in originates(d)] == ["PJSIP/osnp01", "PJSIP/osnp02"]


def test_the_mode_is_chosen_per_transfer_kind() -> None:
    config = parse_config(WARM_SITE_TOML.replace(b'mode = "warm"', b'mode = "cold"\n'
                                            b'modes = { "ARM_N1>AMU_N2" = "warm", '
                                            b'"*>MG" = "warm" }'))
    assert config.transfers.mode_of("ARM_N1", "OSNP") == "cold"
    assert config.transfers.mode_of("ARM_N1", "AMU_N2") == "warm"
    assert config.transfers.mode_of("OSNP", "MG") == "warm"
    d = Driver(config)
    channel, _leg = connected(d)
    d.feed(i.TransferRequest("OSNP", agent="arm01"))
    assert originates(d) == [] and d.offers()[-1] == (channel, "osnp01")  # cold


def test_a_bad_transfer_kind_is_refused_naming_the_key() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(WARM_SITE_TOML + b'modes = { "ARM_N1>NOPE" = "warm" }\n', "site.toml")
    assert "transfers.modes.ARM_N1>NOPE" in str(err.value)
    with pytest.raises(ConfigError):
        parse_config(WARM_SITE_TOML.replace(b'mode = "warm"', b'mode = "lukewarm"'), "site.toml")


def test_a_backup_level_is_rung_once_the_skill_expansion_allows_it() -> None:
    d = Driver(with_backups(parse_config(WARM_SITE_TOML.replace(
        b"warm_max_wait_s = 30", b"warm_max_wait_s = 45")), "fixed"))
    d.feed(i.AgentPause("amu01"))  # arm01 holds AMU_N2 at level 2 (after 30 s)
    connected(d, "PJSIP/arm02")
    d.feed(i.TransferRequest("AMU_N2", agent="arm02"))
    assert originates(d) == []
    d.advance(29)
    assert originates(d) == []
    d.advance(1)
    (ring,) = originates(d)
    assert ring.channel == "PJSIP/arm01"


def test_spare_backups_ring_a_backup_for_a_warm_transfer_at_once() -> None:
    """A transferred caller is one the room already handled: under the "spare" rule a
    free backup of the target filière is rung at once, not after expansion_s."""
    d = Driver(parse_config(WARM_SITE_TOML.replace(b"warm_max_wait_s = 30",
                                              b"warm_max_wait_s = 45")))
    d.feed(i.AgentPause("amu01"))  # arm01 holds AMU_N2 at level 2
    connected(d, "PJSIP/arm02")
    d.feed(i.TransferRequest("AMU_N2", agent="arm02"))
    (ring,) = originates(d)
    assert ring.channel == "PJSIP/arm01"


def test_replay_follows_a_recorded_warm_transfer() -> None:
    d = Driver(site(), decide=False)
    channel = d.call()
    leg = d.ring(channel, "PJSIP/arm01")
    d.answer(channel, leg)
    d.now += 30
    d.feed(ev.UserEvent(channel="PJSIP/arm01-0000a1", name="AcdTransfer",
                        headers={"Target": "OSNP"}))
    d.now += 5
    warm_answer(d, "osnp02")
    d.feed(ev.Hangup(channel=leg))
    d.now += 60
    d.hangup(channel)
    assert d.commands == []
    assert [(x.queue, x.agent, x.wait_s, x.talk_s) for x in record(d).record.legs] == [
        ("ARM_N1", "arm01", 0.0, 35.0), ("OSNP", "osnp02", 5.0, 60.0)]


def test_a_more_urgent_caller_waiting_in_the_target_queue_goes_first() -> None:
    d = Driver(site())
    d.feed(i.AgentPause("osnp01"))
    d.feed(i.AgentPause("osnp02"))
    _channel, _leg = connected(d)  # u1, priority 5, with arm01
    d.feed(i.AgentPause("arm02"))
    d.feed(i.AgentPause("amu01"))
    urgent = d.call(priority="0")  # waits in ARM_N1
    urgent_id = next(c.id for c in d.engine.calls.values() if c.channel == urgent)
    d.feed(i.TransferRequest("OSNP", call=urgent_id, by="sup"))  # waits in OSNP (cold)
    d.feed(i.TransferRequest("OSNP", agent="arm01"))  # u1: warm, nobody free
    assert originates(d) == []
    d.feed(i.AgentReady("osnp01"))
    assert d.offers()[-1] == (urgent, "osnp01") and originates(d) == []
    d.feed(i.AgentReady("osnp02"))
    (ring,) = originates(d)
    assert ring.channel == "PJSIP/osnp02"


def test_the_target_agent_is_offered_the_call_on_its_desktop() -> None:
    d = Driver(site())
    connected(d)
    d.facts.clear()
    d.feed(i.TransferRequest("OSNP", agent="arm01"))
    offered = [x for x in d.facts if isinstance(x, f.CallOffered)]
    assert [(x.call, x.queue, x.agent) for x in offered] == [("u1", "OSNP", "osnp01")]


def test_the_overflow_fallback_sends_the_caller_to_a_partner() -> None:
    d = Driver(site(b'fallback = ["overflow", "transferrer"]\n'
                    b'[[partners]]\nname = "sas62"\ndial = "PJSIP/sas62/15"\n'))
    channel, _leg = connected(d)
    d.feed(i.TransferRequest("MG", agent="arm01"))  # nobody logged in for MG
    assert results(d)[-1][1] == "fallback_overflow"
    (move,) = caller_moves(d, channel)
    assert (move.context, move.exten) == ("acd-overflow", "sas62")
    assert d.engine.agents["arm01"].state is AgentState.WRAP_UP


def test_without_a_partner_up_the_overflow_step_is_skipped() -> None:
    d = Driver(site(b'fallback = ["overflow", "transferrer"]\n'))
    channel, _leg = connected(d)
    d.feed(i.TransferRequest("MG", agent="arm01"))
    assert results(d)[-1][1] == "cancelled"
    assert caller_moves(d, channel) == []
    assert d.engine.calls["u1"].agent == "arm01"


def test_a_refused_hand_over_puts_the_call_back_in_line_never_hangs_up() -> None:
    d = Driver(site())
    channel, _leg = connected(d)
    d.feed(i.TransferRequest("OSNP", agent="arm01"))
    warm_answer(d, "osnp01")
    (move,) = caller_moves(d, channel)
    d.feed(i.ActionFailed(ref=move.ref, action="Redirect", message="Channel does not exist"))
    call = d.engine.calls["u1"]
    assert call.state is CallState.HELD and call.agent is None
    d.advance(3)  # orphan_requeue_s: nothing said where the caller went, back in line
    assert call_state(call) in (CallState.WAITING, CallState.OFFERED)
    assert not any(isinstance(c, act.Hangup) for c in d.commands)


def _recorded(name: str, event: str, **headers: str) -> object:
    from acd.ami.events import decode_frame
    from tests.support.paths import LIVE

    for frame in (LIVE / name).read_bytes().split(b"\r\n\r\n"):
        if frame.startswith(f"Event: {event}\r\n".encode()) and all(
                f"\r\n{k}: {v}\r\n".encode() in frame + b"\r\n" for k, v in headers.items()):
            return decode_frame(frame + b"\r\n\r\n")
    raise AssertionError(f"no {event} {headers} in {name}")


def test_recorded_busy_target_failure_is_not_a_missed_offer() -> None:
    """Live 06f's own bytes: the bogus ``AcdWarmAnswered Agent: failed`` of the first
    dialplan moves nothing; the ``OriginateResponse`` (Reason 5, busy) of the target
    ``Local/1014@agents`` does not pause it although one more miss would."""
    d = Driver(parse_config(SITE_TOML + b"""
[[agents]]
id = "1014"
device = "Local/1014@agents"
skills = { OSNP = 1 }
logged_in = true

[transfers]
mode = "warm"
"""))
    channel, _leg = connected(d)
    d.feed(i.TransferRequest("OSNP", agent="arm01"))
    assert [o.channel for o in originates(d)] == ["Local/1014@agents"]
    target = d.engine.agents["1014"]
    target.missed_offers = 1
    recording = "06f-warm-transfer-target-busy.events.ami"
    d.feed(_recorded(recording, "UserEvent", Channel="OutgoingSpoolFailed"))
    assert caller_moves(d, channel) == []
    assert not any(isinstance(c, act.Setvar) for c in d.commands)
    d.feed(_recorded(recording, "OriginateResponse", Response="Failure"))
    assert target.state is AgentState.AVAILABLE and target.missed_offers == 1
    assert caller_moves(d, channel) == []  # the first agent still has the caller
