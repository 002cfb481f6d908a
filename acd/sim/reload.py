"""Reloads of the simulated Asterisk: ``dialplan reload``, ``core reload``.

What Asterisk 22's pbx_config does on a reload (recording live 15,
``tests/fixtures/ami/live/15-dialplan-reload-heartbeat.events.ami``): it reads
``extensions.conf`` again and sets *every* variable of its ``[globals]`` section again
to the value written there, in file order, each shown as a ``VarSet`` with ``Channel:
none`` (class ``dialplan``). A global that is not in the file (one the router set with
a ``Setvar``, such as the heartbeat) keeps its value, unless ``[general]`` says
``clearglobalvars = yes`` (not Asterisk's default, and not the lab's). A global that is
in the file is reset: with the first ``globals_acd.conf``, which set
``ACD_HEARTBEAT=0``, the reload made the heartbeat 0 and the next ``[holding]`` check
failed healthy callers open.

``dialplan reload`` sends no other event (none in recording 15, whose recorder read
every class). ``core reload`` (and ``module reload``) also ends with a ``Reload``
event of class ``system``: not recorded; its headers follow Asterisk's documentation
of the event (``Module``: the module reloaded, ``All`` for every one; ``Status``: 0
for success).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from acd.sim.pbx import Pbx


def dialplan_reload(pbx: Pbx, file_globals: Mapping[str, str] | None = None) -> None:
    """``dialplan reload``: the ``[globals]`` of the file set again, in file order.

    ``file_globals``: the section as the site wrote it; by default what the PBX
    loaded at start (:attr:`Pbx.loaded_globals`).
    """
    values = pbx.loaded_globals if file_globals is None else file_globals
    for name, value in values.items():
        pbx.globals[name] = value
        pbx.events.global_varset(name, value)


def core_reload(pbx: Pbx, file_globals: Mapping[str, str] | None = None) -> None:
    """``core reload``: every module, pbx_config among them, then ``Reload``."""
    dialplan_reload(pbx, file_globals)
    pbx.events.emit("Reload", [("Module", "All"), ("Status", "0")], "system")
