"""Dial legs and bridges: the far end of a caller's ``Dial`` (an agent, a partner SAS).

Creating the legs ``Dial(<tech>/<resource>)`` makes, bridging the answered one with the
caller, and taking them away again (unanswered, or leaving the bridge), in the order
Asterisk sends the events. Part of the channel kernel (:mod:`acd.sim.kernel`): it
holds no state of its own, so each context makes one from the kernel it is given.
"""

from __future__ import annotations

from acd.config import AgentConfig
from acd.sim.kernel import Kernel
from acd.sim.model import RING, Call, Channel, Dial, HangupBy, OfferOutcome, Outgoing, Role


class Legs:
    """The far-end legs of the callers' dials."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel

    def dial_legs(self, call: Call, tech: str, resource: str, *, roles: tuple[Role, Role],
                  context: str, inherit: bool = True) -> tuple[Channel, Channel | None]:
        """The channels ``Dial(<tech>/<resource>)`` of the caller creates, with their
        events up to (not including) LocalBridge and DialBegin: a Local pair
        ``Local/<exten>@<ctx>-xxxxxxxx;1/;2`` (the ``;2`` runs ``<ctx>``), or one channel
        ``<tech>/<endpoint>-xxxxxxxx`` in ``context``. Returns the dialled (outer) leg
        and the ``;2`` (None for one channel). ``roles``: of the outer leg, of the ``;2``.
        """
        kernel = self.kernel
        ev, trunk = kernel.events, call.trunk
        inherited = {name: trunk.variables[name] for name in sorted(trunk.inheritable)
                     if name in trunk.variables} if inherit else {}
        inner: Channel | None = None
        if tech.lower() == "local":
            exten, _, local_context = resource.partition("@")
            local_context = local_context.split("/", 1)[0]
            base = f"Local/{exten}@{local_context}-{kernel.next_local():08x}"
            outer = kernel.new_channel(base + ";1", roles[0], linkedid=trunk.linkedid)
            inner = kernel.new_channel(base + ";2", roles[1], linkedid=trunk.linkedid)
            outer.goto(local_context, exten, 1)
            inner.goto(local_context, exten, 1)
            inner.state = RING
        else:
            # PJSIP/arm01, PJSIP/sas62/15, PJSIP/15@sas62: the endpoint names the channel
            endpoint = resource.split("/", 1)[0].rpartition("@")[2]
            outer = kernel.new_channel(kernel.tech_channel_name(f"{tech}/{endpoint}"),
                                       roles[0], linkedid=trunk.linkedid, tech=tech)
            outer.goto(context, "s", 1)
        outer.call = call
        outer.cid_num, outer.cid_name = trunk.exten, trunk.conn_name
        outer.conn_num, outer.conn_name = trunk.cid_num, trunk.cid_name
        legs = [outer] if inner is None else [outer, inner]
        for leg in legs:
            ev.newchannel(leg)
        for leg in legs:
            ev.varset(leg, "DIALEDPEERNUMBER", resource)
            for name, value in inherited.items():
                ev.varset(leg, f"__{name}", value)
            if leg is outer:
                ev.step(outer, outer.context, "s", 1, "AppDial", "(Outgoing Line)")
            else:
                leg.call = call
                leg.cid_num, leg.cid_name = trunk.cid_num, trunk.cid_name
                leg.conn_num, leg.conn_name = trunk.exten, trunk.conn_name
            ev.callerid(leg)
            ev.connected_line(leg)
        return outer, inner

    def agent_legs(self, call: Call, agent: AgentConfig, outcome: OfferOutcome, *,
                   inherit: bool = True) -> Dial:
        """The legs of a Dial of ``agent`` by the caller (``inherit``: they get the
        caller's ``__`` variables; an AMI Originate's legs do not)."""
        kernel = self.kernel
        device = agent.device
        tech, _, resource = device.partition("/")
        outer, inner = self.dial_legs(call, tech, resource, roles=("agent", "agent-local"),
                                      context=kernel.options.agent_phone_context,
                                      inherit=inherit)
        if inner is not None:
            kernel.events.local_bridge(outer, inner, inner.context, inner.exten)
        return Dial(agent_id=agent.id, device=device, dial_string=resource, outer=outer,
                    inner=inner, outcome=outcome, started=kernel.clock.now())

    def bridge_answered(self, call: Call, out: Outgoing, *, app_dial_step: bool) -> None:
        """``Dial`` reports ANSWER and bridges the caller with the answered leg (an
        agent's or a partner SAS's), in the order Asterisk sends it."""
        kernel = self.kernel
        ev, trunk, outer = kernel.events, call.trunk, out.outer
        ev.varset(trunk, "DIALSTATUS", "ANSWER")
        ev.varset(trunk, "DIALEDPEERNAME", outer.name)
        ev.varset(trunk, "DIALEDPEERNUMBER", out.dial_string)
        ev.dial_end(trunk, outer, "ANSWER")
        bridge = kernel.new_bridge()
        out.bridge = bridge
        out.answered_at = kernel.clock.now()
        if isinstance(out, Dial) and call.answered_at is None:
            call.answered_at = out.answered_at  # a person picked the call up
        ev.bridge_create(bridge)
        if app_dial_step:
            ev.step(outer, outer.context, "", 1, "AppDial", "(Outgoing Line)")
        ev.bridge_enter(bridge, outer)
        ev.bridge_enter(bridge, trunk)
        ev.bridge_peer(bridge)

    def release_device(self, out: Outgoing) -> None:
        """An agent's device is free again (a partner trunk has no device state here)."""
        device = self.kernel.free_device(out)
        if device is not None:
            self.kernel.events.device(device, "NOT_INUSE", repeat=2)
            for listener in self.kernel.device_freed_listeners:
                listener()

    def hang_up_unanswered(self, dial: Outgoing, *, cause: int, by: HangupBy, reason: str,
                           inner_cause: int | None = None, release: bool = True) -> None:
        """The legs of a Dial that was not answered go away."""
        kernel = self.kernel
        ev = kernel.events
        if dial.inner is not None:
            ev.hangup_request(dial.inner, cause)
            kernel.gone(dial.outer, cause, by, reason)
            ev.soft_hangup_request(dial.inner, 16)
            kernel.gone(dial.inner, cause if inner_cause is None else inner_cause, by, reason)
        else:
            kernel.gone(dial.outer, cause if inner_cause is None else inner_cause, by, reason)
        if release:
            self.release_device(dial)

    def cancel_ringing(self, call: Call, out: Outgoing, *, cause: int, by: HangupBy,
                       reason: str) -> None:
        """The caller leaves a ``Dial`` still ringing (hangs up, is redirected): every
        phone it rings gets ``DialEnd`` CANCEL, then its legs go."""
        ringing: list[Outgoing] = [*call.ringing_dials()] if out is call.dial else [out]
        call.also_ringing = []
        for each in ringing:
            self.kernel.events.dial_end(call.trunk, each.outer, "CANCEL")
        for each in ringing:
            self.hang_up_unanswered(each, cause=cause, by=by, reason=reason)

    def caller_leaves_bridge(self, call: Call, dial: Outgoing, *, by: HangupBy,
                             reason: str) -> None:
        """The caller's ``;2`` left the bridge: the far end's bridged leg goes.

        The ``;2`` of a Local far end hangs up a little later in Asterisk's order:
        :meth:`finish_far_end` does it.
        """
        kernel = self.kernel
        ev, bridge = kernel.events, dial.bridge
        assert bridge is not None
        ev.bridge_peer(bridge, clear=True)
        ev.bridge_leave(bridge, call.trunk)
        ev.bridge_leave(bridge, dial.outer)
        if dial.inner is not None:
            ev.hangup_request(dial.inner, 16)
        else:
            ev.soft_hangup_request(dial.outer, 16)
        kernel.gone(dial.outer, 16, by, reason)
        ev.bridge_destroy(bridge)
        self.talk_vars(call, dial)

    def finish_far_end(self, dial: Outgoing | None, *, by: HangupBy, reason: str) -> None:
        """Last step of a bridged far end's teardown: its ``;2`` and its device."""
        if dial is None:
            return
        if dial.inner is not None:
            self.kernel.events.soft_hangup_request(dial.inner, 16)
            self.kernel.gone(dial.inner, 16, by, reason)
        self.release_device(dial)

    def talk_vars(self, call: Call, dial: Outgoing) -> None:
        """``ANSWEREDTIME``/``DIALEDTIME`` set on the caller when a bridge ends (full
        event mix only)."""
        kernel = self.kernel
        if not kernel.events.full or dial.answered_at is None:
            return
        now = kernel.clock.now()
        answered, dialled = now - dial.answered_at, now - dial.started
        for name, value in (("ANSWEREDTIME", answered), ("DIALEDTIME", dialled)):
            kernel.events.varset(call.trunk, name, str(int(value)))
            kernel.events.varset(call.trunk, f"{name}_MS", str(int(value * 1000)))
        kernel.events.varset(call.trunk, "DIALSTATUS", "ANSWER")
