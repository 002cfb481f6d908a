"""``[incoming]`` and ``[acd-announce]``: a caller arrives and is announced.

A Local channel pair: ``;1`` is the remote phone, ``;2`` runs ``[incoming]``: it sets
``__ACD_NUMBER`` (and ``ACD_PRIORITY`` when given), sends the arrival UserEvent
(``AcdCallArrived``: ``Number``, ``Uniqueid``; not with ``PbxOptions.arrival_event``
off, an older dialplan), answers, and half a second later (``Answer()``'s own wait: the
announcement) sends the ``AcdCallWaiting`` UserEvent, sets ``__ACD_ARRIVED`` (the host's
``STRFTIME(,,%s.%3q)``: the moment the caller joins the queue, in milliseconds), then
goes to ``[holding]``. The caller's patience starts counting at arrival: a patience
shorter than the announcement hangs up before ``AcdCallWaiting``.
"""

from __future__ import annotations

from collections.abc import Mapping

from acd.sim.kernel import Kernel
from acd.sim.legs import Legs
from acd.sim.model import RING, UP, Call, Phase
from acd.sim.teardown import Teardown


class Incoming:
    """Arrivals: ``[incoming]`` then ``[acd-announce]``."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.teardown = Teardown(kernel, Legs(kernel))

    def place_call(self, number: str, caller_name: str, caller_num: str,
                   patience_s: float | None = None, priority: int | None = None, *,
                   variables: Mapping[str, str] | None = None,
                   originate_action_id: str | None = None) -> Call:
        """A caller dials ``number``: it is announced, then waits up to ``patience_s``."""
        kernel = self.kernel
        now = kernel.clock.now()
        patience = kernel.options.default_patience_s if patience_s is None else patience_s
        base = f"Local/{number}@incoming-{kernel.next_local():08x}"
        phone = kernel.new_channel(base + ";1", "caller-phone")
        trunk = kernel.new_channel(base + ";2", "caller", linkedid=phone.uniqueid)
        call = Call(index=len(kernel.calls), number=number, phone=phone, trunk=trunk,
                    patience_s=patience, arrived=now, priority=priority,
                    originate_action_id=originate_action_id)
        phone.call = trunk.call = call
        kernel.calls.append(call)
        ev = kernel.events
        phone.goto("incoming", number, 1)
        trunk.goto("incoming", number, 1)
        trunk.state = RING
        ev.newchannel(phone)
        ev.newchannel(trunk)
        ev.step(phone, "incoming", number, 1, "AppDial2", "(Outgoing Line)")
        for ch in (phone, trunk):
            for name, value in (variables or {}).items():
                ev.varset(ch, name, value)
            ch.cid_num = ch.conn_num = caller_num or "<unknown>"
            ch.cid_name = ch.conn_name = caller_name or "<unknown>"
            ev.callerid(ch)
            ev.connected_line(ch)
        ev.local_bridge(phone, trunk, "incoming", number)
        ev.dial_begin(None, phone, f"{number}@incoming")
        kernel.start_patience(call, patience, lambda: self._patience_over(call))
        self._run_incoming(call)
        return call

    def _patience_over(self, call: Call) -> None:
        if call.phase in (Phase.ARRIVING, Phase.WAITING, Phase.DIALLING, Phase.OVERFLOWING,
                          Phase.QUEUED):
            self.teardown.caller_hangs_up(call, by="caller", reason="patience ran out",
                                          cause=16)

    def _run_incoming(self, call: Call) -> None:
        kernel = self.kernel
        ev, names, trunk, phone = kernel.events, kernel.names, call.trunk, call.phone
        number = call.number
        rename = kernel.options.incoming_caller_names.get(number)
        if rename is not None:
            trunk.cid_name = rename
            ev.callerid(trunk)
        args = number if call.priority is None else f"{number},{call.priority}"
        ev.step(trunk, "incoming", number, 1, "Gosub", f"acd-announce,s,1({args})")
        ev.step(trunk, "acd-announce", "s", 1, "Set", f"__{names.number_var}={number}")
        ev.varset(trunk, f"__{names.number_var}", number, always=True)
        ev.step(trunk, "acd-announce", "s", 2, "ExecIf",
                f'$["{"" if call.priority is None else call.priority}" != ""]'
                f"?Set({names.priority_var}=${{ARG2}})")
        if call.priority is not None:
            ev.varset(trunk, names.priority_var, str(call.priority), always=True)
        told = self._tell_arrival(call)
        ev.step(trunk, "acd-announce", "s", 3 + told, "Answer")
        ev.newstate(trunk, UP)
        ev.caller_device(f"Local/{number}@incoming", "INUSE")
        ev.newstate(phone, UP)
        ev.dial_end(None, phone, "ANSWER")
        ev.step(phone, "caller", "s", 1, "NoOp", f"caller phone of {phone.cid_num}")
        ev.step(phone, "caller", "s", 2, "Wait", f"{call.patience_s:g}")
        if call.originate_action_id is not None:
            self._originate_response(call)
        ev.caller_device(f"Local/{number}@incoming", "INUSE")
        kernel.after(call, kernel.options.answer_wait_s, lambda: self._announce(call))

    def _tell_arrival(self, call: Call) -> int:
        """``UserEvent(AcdCallArrived,Number: ${ACD_NUMBER},Uniqueid: ${UNIQUEID})``
        before Answer(); the number of dialplan steps it took (0 for an older
        dialplan)."""
        kernel = self.kernel
        if not kernel.options.arrival_event:
            return 0
        ev, names, trunk = kernel.events, kernel.names, call.trunk
        number = trunk.variables.get(names.number_var, call.number)
        headers = [("Number", number), ("Uniqueid", trunk.uniqueid)]
        data = ",".join([names.arrival_event, *(f"{k}: {v}" for k, v in headers)])
        ev.step(trunk, "acd-announce", "s", 3, "UserEvent", data)
        ev.user_event(trunk, names.arrival_event, headers)
        return 1

    def _originate_response(self, call: Call) -> None:
        phone = call.phone
        action_id = call.originate_action_id
        headers = [("ActionID", action_id)] if action_id else []
        self.kernel.events.emit("OriginateResponse", [
            *headers, ("Response", "Success"), ("Channel", phone.name), ("Context", "caller"),
            ("Exten", "s"), ("Reason", "4"), ("Uniqueid", phone.uniqueid),
            ("CallerIDNum", phone.cid_num), ("CallerIDName", phone.cid_name)])

    def _announce(self, call: Call) -> None:
        kernel = self.kernel
        ev, names, trunk = kernel.events, kernel.names, call.trunk
        kernel.cancel_timers(call)
        shift = 1 if kernel.options.arrival_event else 0
        cname = trunk.cid_name.replace(",", "")
        ev.step(trunk, "acd-announce", "s", 4 + shift, "Set",
                "LOCAL(ACD_CNAME)=${CALLERID(name)}")
        ev.step(trunk, "acd-announce", "s", 5 + shift, "Set",
                "LOCAL(ACD_CNAME)=${REPLACE(ACD_CNAME,\\,)}")
        ev.step(trunk, "acd-announce", "s", 6 + shift, "GotoIf",
                f'$["${{{names.priority_var}}}" = ""]?nopriority')
        priority = trunk.variables.get(names.priority_var, "")
        number = trunk.variables.get(names.number_var, call.number)
        headers = [("Number", number), ("Uniqueid", trunk.uniqueid)]
        if priority:
            headers.append(("Priority", priority))
        headers.append(("CallerName", cname))
        data = ",".join([names.call_waiting_event, *(f"{k}: {v}" for k, v in headers)])
        ev.step(trunk, "acd-announce", "s", (7 if priority else 10) + shift,
                "UserEvent", data)
        ev.user_event(trunk, names.call_waiting_event, headers)
        if not priority:
            ev.step(trunk, "acd-announce", "s", 11 + shift, "Goto", "queued")
        arrived = kernel.host.strftime_ms()
        ev.step(trunk, "acd-announce", "s", 8 + shift, "Set",
                f"__{names.arrived_var}={arrived}")
        ev.varset(trunk, f"__{names.arrived_var}", arrived, always=True)
        ev.step(trunk, "acd-announce", "s", 9 + shift, "Return")
        call.announced = True
        call.announced_at = kernel.clock.now()
        ev.step(trunk, "incoming", call.number, 2, "Goto",
                f"{names.holding_context},{names.holding_exten},1")
        kernel.goto(call, names.holding_context, names.holding_exten, 1)
