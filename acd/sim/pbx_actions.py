"""AMI actions on the simulated PBX's configuration: the fail-open queue's members and
status, the dialplan and the queue's settings (what ``acd check-pbx`` and the router's
queue membership send).

Shapes from recordings where there are some (transcript 05: ``QueueStatus`` as a list
of ``QueueParams``, ``QueueMember``, ``QueueEntry`` and ``QueueStatusComplete``, an
unknown queue answering an empty list; ``QueueAdd``/``QueueRemove``/``QueuePause``
answers ``Added interface to queue``, ``Removed interface from queue``,
``Unable to remove interface: Not there``, ``Interface paused successfully``,
``Interface unpaused successfully``). Not recorded, so following Asterisk's
documentation and app_queue's messages: ``Unable to add interface: Already there``,
``Interface not found``; ``ShowDialPlan`` (a list of ``ListDialplan`` events, one per
priority, then ``ShowDialPlanComplete`` with ``ListItems``, ``ListExtensions``,
``ListPriorities``, ``ListContexts``; an unknown context answers an error); and
``GetConfig`` (``Category-000000:``, ``Line-000000-000000: key=value``). The simulator
lists only priority 1 of each extension.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from acd.ami.frames import AmiMessage
from acd.config.dialplan import GLOBALS, QUEUE_SETTINGS, dialplan_extensions
from acd.sim.model import Headers, Phase
from acd.sim.pbx import Pbx
from acd.sim.wire import Reply, error, response

Handler = Callable[[AmiMessage, str | None], Reply]

#: what priority 1 of each shipped extension runs (context, exten) → (app, data)
_FIRST_STEP: dict[str, tuple[str, str]] = {
    "incoming": ("Gosub", "acd-announce,s,1(${EXTEN})"),
    "acd-announce": ("Set", "__ACD_NUMBER=${ARG1}"),
    "holding": ("GotoIf", "$[...]?acd-failopen,s,1"),
    "acd-failopen": ("Queue", "${ACD_FAILOPEN_QUEUE}"),
}


def _true(text: str) -> bool:
    return text.strip().lower() in ("true", "yes", "1", "on")


class PbxConfigActions:
    """Queue*, ShowDialPlan and GetConfig over a :class:`~acd.sim.pbx.Pbx`."""

    def __init__(self, pbx: Pbx, numbers: Iterable[str]) -> None:
        self.pbx = pbx
        self.numbers = tuple(numbers)
        #: the site's queues.conf section of the fail-open queue, as GetConfig shows it
        self.queue_file: dict[str, str] = {**QUEUE_SETTINGS, "timeout": "15", "retry": "2",
                                           "musicclass": "default"}

    def table(self) -> dict[str, Handler]:
        return {"queueadd": self.queue_add, "queueremove": self.queue_remove,
                "queuepause": self.queue_pause, "queuestatus": self.queue_status,
                "showdialplan": self.show_dialplan, "getconfig": self.get_config}

    # ---------------------------------------------------------------- members

    def _queue_error(self, message: AmiMessage, action_id: str | None) -> Reply | None:
        queue, interface = message.get("Queue", ""), message.get("Interface", "")
        if not queue or not interface:
            return error(action_id, "'Queue' and 'Interface' not specified.")
        if queue != self.pbx.native.queue_name():
            return error(action_id, "Unable to add interface to queue: No such queue"
                         if message.get("Action", "").lower() == "queueadd"
                         else "Interface not found")
        return None

    def queue_add(self, message: AmiMessage, action_id: str | None) -> Reply:
        refused = self._queue_error(message, action_id)
        if refused is not None:
            return refused
        problem = self.pbx.native.add(message["Interface"], message.get("MemberName", ""),
                                      _true(message.get("Paused", "")))
        if problem is not None:
            return error(action_id, problem)
        return Reply([response("Success", action_id, ("Message", "Added interface to queue"))])

    def queue_remove(self, message: AmiMessage, action_id: str | None) -> Reply:
        refused = self._queue_error(message, action_id)
        if refused is not None:
            return refused
        problem = self.pbx.native.remove(message["Interface"])
        if problem is not None:
            return error(action_id, problem)
        return Reply([response("Success", action_id,
                               ("Message", "Removed interface from queue"))])

    def queue_pause(self, message: AmiMessage, action_id: str | None) -> Reply:
        if not message.get("Interface") or not message.get("Paused"):
            return error(action_id, "Need 'Interface' and 'Paused' parameters.")
        if message.get("Queue") and message["Queue"] != self.pbx.native.queue_name():
            return error(action_id, "Interface not found")
        paused = _true(message["Paused"])
        problem = self.pbx.native.pause(message["Interface"], paused,
                                        message.get("Reason", ""))
        if problem is not None:
            return error(action_id, problem)
        text = "Interface paused successfully" if paused else "Interface unpaused successfully"
        return Reply([response("Success", action_id, ("Message", text))])

    def queue_status(self, message: AmiMessage, action_id: str | None) -> Reply:
        native, now = self.pbx.native, self.pbx.clock.now()
        aid = [("ActionID", action_id)] if action_id is not None else []
        messages: list[Headers] = [response("Success", action_id, ("EventList", "start"),
                                            ("Message", "Queue status will follow"))]
        name = native.queue_name()
        if message.get("Queue", name) == name:
            waiting = [c for c in native.waiting if c.phase is not Phase.GONE]
            messages.append([("Event", "QueueParams"), ("Queue", name), ("Max", "0"),
                             ("Strategy", native.strategy), ("Calls", str(len(waiting))),
                             ("Holdtime", "0"), ("TalkTime", "0"), ("Completed", "0"),
                             ("Abandoned", "0"), ("ServiceLevel", "0"),
                             ("ServicelevelPerf", "0.0"), ("ServicelevelPerf2", "0.0"),
                             ("Weight", "0"), *aid])
            for m in native.member_list.values():
                messages.append([
                    ("Event", "QueueMember"), ("Queue", name), ("Name", m.name),
                    ("Location", m.interface), ("StateInterface", m.interface),
                    ("Membership", "dynamic" if m.dynamic else "static"), ("Penalty", "0"),
                    ("CallsTaken", "0"), ("LastCall", "0"), ("LastPause", str(m.last_pause)),
                    ("LoginTime", str(m.login_time)), ("InCall", "0"), ("Status", "1"),
                    ("Paused", "1" if m.paused else "0"), ("PausedReason", m.reason),
                    ("Wrapuptime", "0"), *aid])
            for position, call in enumerate(waiting, start=1):
                trunk = call.trunk
                messages.append([
                    ("Event", "QueueEntry"), ("Queue", name), ("Position", str(position)),
                    ("Channel", trunk.name), ("Uniqueid", trunk.uniqueid),
                    ("CallerIDNum", trunk.cid_num), ("CallerIDName", trunk.cid_name),
                    ("ConnectedLineNum", trunk.conn_num),
                    ("ConnectedLineName", trunk.conn_name),
                    ("Wait", str(int(now - call.arrived))), ("Priority", "0"), *aid])
        messages.append([("Event", "QueueStatusComplete"), *aid, ("EventList", "Complete"),
                         ("ListItems", str(len(messages) - 1))])
        return Reply(messages)

    # ---------------------------------------------------------------- configuration

    def show_dialplan(self, message: AmiMessage, action_id: str | None) -> Reply:
        plan = dialplan_extensions(self.pbx.names, self.numbers)
        wanted_context, wanted_exten = message.get("Context", ""), message.get("Extension", "")
        if wanted_context and wanted_context not in plan:
            return error(action_id, f"Did not find context {wanted_context}")
        aid = [("ActionID", action_id)] if action_id is not None else []
        items: list[Headers] = []
        contexts = 0
        for context, extens in plan.items():
            if wanted_context and context != wanted_context:
                continue
            contexts += 1
            app, data = _FIRST_STEP.get(context, ("NoOp", ""))
            for exten in extens:
                if wanted_exten and exten != wanted_exten:
                    continue
                items.append([("Event", "ListDialplan"), *aid, ("Context", context),
                              ("Extension", exten), ("Priority", "1"), ("Application", app),
                              ("AppData", data), ("Registrar", "pbx_config")])
        if wanted_exten and not items:
            return error(action_id, f"Did not find extension {wanted_exten}@{wanted_context}")
        messages: list[Headers] = [response("Success", action_id, ("EventList", "start"),
                                            ("Message", "DialPlan list will follow"))]
        messages += items
        messages.append([("Event", "ShowDialPlanComplete"), *aid, ("EventList", "Complete"),
                         ("ListItems", str(len(items))), ("ListExtensions", str(len(items))),
                         ("ListPriorities", str(len(items))),
                         ("ListContexts", str(contexts))])
        return Reply(messages)

    def get_config(self, message: AmiMessage, action_id: str | None) -> Reply:
        filename = message.get("Filename", "")
        if not filename:
            return error(action_id, "Filename not specified")
        sections: dict[str, dict[str, str]]
        if filename == "queues.conf":
            sections = {self.pbx.native.queue_name(): {
                **self.queue_file, "strategy": self.pbx.native.strategy,
                "autofill": "yes" if self.pbx.native.autofill else "no"}}
        elif filename == "extensions.conf":
            sections = {"globals": dict(GLOBALS)}
        else:
            return error(action_id, "Config file not found")
        wanted = message.get("Category", "")
        headers: list[tuple[str, str]] = []
        for n, (category, lines) in enumerate(
                (c, v) for c, v in sections.items() if not wanted or c == wanted):
            headers.append((f"Category-{n:06d}", category))
            headers += [(f"Line-{n:06d}-{k:06d}", f"{key}={value}")
                        for k, (key, value) in enumerate(lines.items())]
        return Reply([response("Success", action_id, *headers)])
