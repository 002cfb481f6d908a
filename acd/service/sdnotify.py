"""systemd's notify protocol: ``READY=1``, ``STATUS=…``, ``STOPPING=1``, ``WATCHDOG=1``.

Under ``Type=notify`` systemd passes ``$NOTIFY_SOCKET``, a Unix datagram socket (a path,
or ``@name`` for the abstract namespace); each notification is one datagram of
``KEY=value`` lines. Outside systemd the variable is unset and every call here does
nothing, so ``acd run`` behaves the same from a shell or a test.

The watchdog (``WatchdogSec=`` in the unit gives ``$WATCHDOG_USEC``) is pinged by a task
on the router's event loop, never from a thread: if the loop is stuck, the pings stop
and systemd restarts the service.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Mapping

from acd.logs import get_logger

log = get_logger("acd.sdnotify")


class Notifier:
    """Sends notifications to systemd, if it asked for them."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        if address.startswith("@"):  # abstract namespace
            address = "\0" + address[1:]
        self.address = address
        self._watchdog_s = _watchdog_interval(env)
        self._failed = False

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    @property
    def watchdog_s(self) -> float | None:
        """Seconds between watchdog pings (half of ``WatchdogSec=``), or None."""
        return self._watchdog_s if self.enabled else None

    def notify(self, **fields: str) -> bool:
        """Send ``KEY=value`` lines (``notify(READY="1", STATUS="…")``); True if sent.
        A failure is logged once and never raised: systemd's absence must not stop
        the router from routing."""
        if not self.enabled:
            return False
        message = "\n".join(f"{key}={value}" for key, value in fields.items())
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.connect(self.address)
                sock.sendall(message.encode("utf-8"))
        except OSError as exc:
            if not self._failed:
                log.warning("sd_notify_failed", error=str(exc))
            self._failed = True
            return False
        return True

    def ready(self, status: str) -> bool:
        return self.notify(READY="1", STATUS=status)

    def status(self, status: str) -> bool:
        return self.notify(STATUS=status)

    def stopping(self) -> bool:
        return self.notify(STOPPING="1", STATUS="stopping")

    async def watchdog(self) -> None:
        """Ping the watchdog from the event loop until cancelled (returns at once when
        the unit has no ``WatchdogSec=``)."""
        interval = self.watchdog_s
        if interval is None:
            return
        while True:
            self.notify(WATCHDOG="1")
            await asyncio.sleep(interval)


def _watchdog_interval(env: Mapping[str, str]) -> float | None:
    """Half of ``$WATCHDOG_USEC``, if it is meant for this process (``$WATCHDOG_PID``
    unset or ours), as sd_watchdog_enabled(3) says."""
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and pid != str(os.getpid()):
        return None
    return int(usec) / 1e6 / 2
