"""What a site's Asterisk must hold for the router: the contexts and extensions of
``dialplans/extensions_acd.conf``, the globals of ``globals_acd.conf`` and the
fail-open queue of ``queues_acd.conf``, with the names of ``[dialplan]``.

One list, read by ``acd check-pbx`` (what to look for on a site) and by the simulator
(what its ``ShowDialPlan`` and ``GetConfig`` answer). ``tests/protocol/test_pbxcheck.py``
checks it against the files of ``dialplans/``. It lives with the configuration, not
with the AMI adapter: it is data derived from ``[dialplan]`` alone, and both the
simulator and the tools may import the configuration layer.
"""

from __future__ import annotations

from collections.abc import Iterable

from acd.config.dialplan_defaults import DIALPLAN
from acd.config.schema import DialplanNames

#: the agent / partner pattern of acd-connect, acd-overflow, acd-warm, acd-warm-bridge
ID_PATTERN = "_[0-9A-Za-z]."
#: the queue pattern of acd-transfer
QUEUE_PATTERN = "_[A-Z]."
#: globals_acd.conf: name → value shipped (the heartbeat is never there)
GLOBALS: dict[str, str] = DIALPLAN.globals()
#: queues_acd.conf: the settings of the fail-open queue the router relies on
QUEUE_SETTINGS: dict[str, str] = {
    "strategy": "rrmemory", "autofill": "yes", "ringinuse": "no", "joinempty": "yes",
    "leavewhenempty": "no",
}
#: keywords Asterisk 22's app_queue rejects ("Unknown keyword in queue")
QUEUE_REJECTED: tuple[str, ...] = ("leaveempty", "eventwhencalled")


def dialplan_extensions(names: DialplanNames,
                        numbers: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Context → its extensions, as ``extensions_acd.conf`` writes them; ``numbers``:
    the site's dialled numbers (``[numbers]``), each an extension of ``[incoming]``."""
    return {
        "incoming": tuple(numbers),
        "acd-announce": ("s",),
        names.holding_context: (names.holding_exten,),
        names.failopen_context: ("s",),
        names.connect_context: (ID_PATTERN, "s"),
        "acd-transfer": (QUEUE_PATTERN,),
        names.warm_context: ("failed", ID_PATTERN),
        names.warm_bridge_context: (ID_PATTERN,),
        names.overflow_context: (ID_PATTERN,),
        "acd-features": ("*71", "*72", "*73", "_*73X", "_*73X.", "*74"),
    }
