"""Open consoles, as browsers open them, in a process of their own (so that reading
their streams takes nothing from the router's or the simulator's process).

Each console loads the page and its assets, types the token (``POST
/console/session``: a cookie of its own), then listens to ``GET /api/v1/events?room=1``
with that cookie, reading every byte. It prints ``{"ready": N}`` once every console
has had its first ``room`` event, and on SIGTERM one JSON line: the room events each
console received (fewest, most) and the bytes read.

    python -m benchmarks.console_clients --base http://127.0.0.1:8080 --token T --consoles 50
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from dataclasses import dataclass

import aiohttp

ASSETS = ("/", "/console/strings.js", "/console/console.js", "/console/console.css")


@dataclass
class Console:
    rooms: int = 0
    bytes_read: int = 0


async def one_console(base: str, token: str, console: Console,
                      first_room: asyncio.Event) -> None:
    jar = aiohttp.CookieJar(unsafe=True)  # cookies of an address like 127.0.0.1
    timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
    async with aiohttp.ClientSession(cookie_jar=jar, timeout=timeout) as http:
        for asset in ASSETS:
            async with http.get(base + asset) as response:
                await response.read()
        async with http.post(base + "/console/session", json={"token": token}) as response:
            assert response.status == 200, await response.text()
        async with http.get(base + "/api/v1/events?room=1") as stream:
            assert stream.status == 200
            tail = b""
            async for chunk in stream.content.iter_any():
                console.bytes_read += len(chunk)
                seen = tail + chunk
                found = seen.count(b"event: room\n")
                tail = seen[-12:]
                if found:
                    console.rooms += found
                    first_room.set()


async def run(base: str, token: str, consoles: int) -> dict[str, int]:
    state = [Console() for _ in range(consoles)]
    firsts = [asyncio.Event() for _ in range(consoles)]
    tasks = [asyncio.create_task(one_console(base, token, c, e))
             for c, e in zip(state, firsts, strict=True)]
    await asyncio.gather(*(e.wait() for e in firsts))
    print(json.dumps({"ready": consoles}), flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {"rooms_min": min(c.rooms for c in state), "rooms_max": max(c.rooms for c in state),
            "bytes_read": sum(c.bytes_read for c in state)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--consoles", type=int, default=50)
    args = parser.parse_args(argv)
    result = asyncio.run(run(args.base, args.token, args.consoles))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
