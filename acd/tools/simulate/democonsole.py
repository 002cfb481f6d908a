"""``acd demo --console``: the supervisor's console of the demo's router, reachable
while the morning plays.

The demo's router serves the same HTTP side as ``acd run`` (the page at ``/`` and
``/wallboard``, the API, the event stream) on 127.0.0.1, port ``DEMO_CONSOLE_PORT``
(8015) unless told another (0: any free port; a port already taken falls back to a
free one). A supervisor token is made for the run and printed with the address: it
is typed into the page (never put in the address). The page's waits and clock run at
the demo's speed. Nothing is served once the demo ends.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator, Callable
from typing import TextIO

from acd.http import start_http
from acd.http.room import ConsoleHost
from acd.http.tokens import Principal, TokenSet, digest

#: the console of ``acd demo --console``: http://127.0.0.1:8015/
DEMO_CONSOLE_PORT = 8015
#: who the demo's token is, in the page and the audit
DEMO_SUPERVISOR = "superviseur démo"


def demo_tokens(token: str) -> TokenSet:
    """One supervisor token (numbers masked, as for most supervisors)."""
    return TokenSet({digest(token): Principal(name=DEMO_SUPERVISOR, role="supervisor")},
                    source="acd demo")


def demo_console(port: int, out: TextIO
                 ) -> Callable[[ConsoleHost], contextlib.AbstractAsyncContextManager[object]]:
    """What :func:`acd.tools.simulate.run.run_scenario` calls with its router once it is
    connected: serve the console for the run and print where, and the token."""

    @contextlib.asynccontextmanager
    async def serving(router: ConsoleHost) -> AsyncIterator[object]:
        token = "demo-" + secrets.token_urlsafe(18)
        tokens = demo_tokens(token)
        try:
            server = await start_http(router, "127.0.0.1", port, tokens=tokens)
        except OSError:  # the port is taken (another demo?): any free one
            server = await start_http(router, "127.0.0.1", 0, tokens=tokens)
        print(f"console: http://127.0.0.1:{server.port}/ (wall screen: /wallboard), "
              f"supervisor token: {token}", file=out, flush=True)
        try:
            yield server
        finally:
            await server.close()

    return serving
