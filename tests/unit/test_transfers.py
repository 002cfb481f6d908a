"""Transfers between filières in the pure engine: the caller is never hung up."""

from __future__ import annotations

from acd.ami import actions as act
from acd.ami import events as ev
from acd.config import Config
from acd.config.load import parse_config
from acd.core import facts as f
from acd.core import inputs as i
from acd.core.model import AgentState, CallState
from tests.support.enginekit import Driver
from tests.support.sites import SITE_TOML, with_backups

XFER_SITE = SITE_TOML + b"""
[[agents]]
id = "osnp01"
device = "PJSIP/osnp01"
skills = { OSNP = 1 }
logged_in = true

[transfers]
max_wait_s = 60
"""


def site() -> Config:
    return parse_config(XFER_SITE)


def connected(d: Driver, device: str = "PJSIP/arm01") -> tuple[str, str]:
    channel = d.call()
    leg = d.ring(channel, device)
    d.answer(channel, leg)
    return channel, leg


def transfers(d: Driver) -> list[tuple[str, str, str]]:
    return [(x.from_queue, x.to_queue, x.result) for x in d.facts
            if isinstance(x, f.CallTransferred)]


def test_feature_code_transfer_moves_the_caller_straight_to_a_free_target_agent() -> None:
    d = Driver(site())
    channel, leg = connected(d)
    d.now += 40
    d.feed(ev.UserEvent(channel="PJSIP/arm01-0000a1", name="AcdTransfer",
                        headers={"Target": "OSNP"}))
    call = d.engine.calls["u1"]
    assert call.state is CallState.OFFERED and call.agent == "osnp01"
    assert d.offers()[-1] == (channel, "osnp01")
    assert not any(isinstance(c, act.Hangup) for c in d.commands)
    assert d.engine.agents["arm01"].state is AgentState.WRAP_UP
    d.feed(ev.Hangup(channel=leg))  # Asterisk hangs up the first agent's legs
    osnp_leg = d.ring(channel, "PJSIP/osnp01")
    d.now += 3
    d.answer(channel, osnp_leg)
    d.now += 100
    d.hangup(channel)
    (ended,) = [x for x in d.facts if isinstance(x, f.CallEnded)]
    record = ended.record
    assert record.outcome == "answered" and record.agent == "arm01"
    assert record.queues == ["ARM_N1", "OSNP"]
    assert [(leg.queue, leg.agent, leg.wait_s, leg.talk_s) for leg in record.legs] == [
        ("ARM_N1", "arm01", 0.0, 40.0), ("OSNP", "osnp01", 3.0, 100.0)]
    assert record.wait_s == 0.0  # QS counts the first pick-up only
    assert transfers(d) == [("ARM_N1", "OSNP", "requested"), ("ARM_N1", "OSNP", "connected")]


def test_transfer_with_no_free_agent_waits_in_holding_ahead_of_new_calls() -> None:
    d = Driver(site())
    d.feed(i.AgentPause("osnp01", "break"))  # logged in, but not free
    channel, _leg = connected(d)
    d.feed(i.TransferRequest("OSNP", agent="arm01"))
    back = [c for c in d.commands if isinstance(c, act.Redirect) and c.context == "holding"]
    assert back[-1].channel == channel  # out of the bridge, to music on hold
    call = d.engine.calls["u1"]
    assert call.state is CallState.WAITING and call.queue == "OSNP" and call.tier == 0
    assert [c.id for c in d.engine.waiting_calls("OSNP")] == ["u1"]


def test_transfer_to_an_unstaffed_filiere_falls_back_to_the_transferring_agent() -> None:
    d = Driver(parse_config(XFER_SITE.replace(b"wrap_up_s = 5", b"wrap_up_s = 0")))
    channel, _leg = connected(d)
    d.feed(i.TransferRequest("MG", agent="arm01"))  # mg01 is logged out
    assert transfers(d)[-1] == ("ARM_N1", "MG", "fallback_transferrer")
    call = d.engine.calls["u1"]
    assert call.queue == "ARM_N1"
    assert call.queues == ["ARM_N1", "MG", "ARM_N1"]
    assert d.offers()[-1] == (channel, "arm01")
    assert not any(isinstance(c, act.Hangup) for c in d.commands)


def test_unstaffed_target_and_busy_transferrer_go_to_the_original_queue() -> None:
    d = Driver(site())  # ARM_N1 wrap-up 5 s: arm01 is not free right after
    channel, _leg = connected(d)
    d.feed(i.TransferRequest("MG", agent="arm01"))
    assert transfers(d)[-1] == ("ARM_N1", "MG", "fallback_original_queue")
    assert d.offers()[-1] == (channel, "arm02")


def test_transfer_waiting_too_long_goes_back_to_the_head_of_the_original_queue() -> None:
    config = parse_config(XFER_SITE.replace(b"max_wait_s = 60", b"max_wait_s = 60\n"
                                            b'fallback = ["original_queue"]'))
    d = Driver(config)
    d.feed(i.AgentPause("osnp01"))
    _channel, _leg = connected(d)
    d.feed(i.TransferRequest("OSNP", agent="arm01"))
    for _ in range(3):
        d.call()  # new calls keep arm02 and amu01 busy / waiting
    d.advance(61)
    call = d.engine.calls["u1"]
    assert transfers(d)[-1][2] == "fallback_original_queue"
    assert call.queue == "ARM_N1" and call.queues == ["ARM_N1", "OSNP", "ARM_N1"]
    waiting = d.engine.waiting_calls("ARM_N1")
    assert call.state is CallState.OFFERED or waiting[0] is call


def test_transfer_of_a_waiting_call_by_a_supervisor_and_bad_requests() -> None:
    d = Driver(with_backups(site(), "fixed"))  # the third call waits for amu01
    for _ in range(3):
        d.call()
    waiting = d.engine.waiting_calls("ARM_N1")[0]
    d.feed(i.TransferRequest("OSNP", call=waiting.id, by="supervisor"))
    assert d.engine.calls[waiting.id].agent == "osnp01"
    d.feed(i.TransferRequest("NOPE", call=waiting.id))
    d.feed(i.TransferRequest("OSNP", agent="nobody"))
    ignored = [x.detail for x in d.facts if isinstance(x, f.InputIgnored)]
    assert len(ignored) == 2
