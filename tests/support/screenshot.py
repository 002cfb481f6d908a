"""The console's pictures in the docs, taken during the demo morning:
``scripts/console-screenshot`` runs ``acd demo --console``, opens the console and the
wallboard in headless Chromium with the token the demo prints, and takes each once the
09:30 pile-up fills the front office (``docs/console.png``,
``docs/console-wallboard.png``)."""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import tempfile
from pathlib import Path

from tests.support.browser import Page, running_browser
from tests.support.paths import REPO

LINE = re.compile(r"console: (\S+) .*supervisor token: (\S+)")


async def logged_in(page: Page, token: str) -> None:
    await page.wait_for("!document.getElementById('login').hidden")
    await page.type("#token", token)
    await page.click("#login-submit")
    await page.wait_for("document.getElementById('live').getAttribute('data-state') "
                        "=== 'live'")


async def take(out: Path, *, speed: float, at: str, waiting: int) -> None:
    demo = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "acd.cli", "demo", "--console", "--console-port", "0",
        "--speed", str(speed), cwd=REPO, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL)
    assert demo.stdout is not None
    try:
        async with asyncio.timeout(60):
            while not (match := LINE.match((await demo.stdout.readline()).decode())):
                pass
        drain = asyncio.create_task(demo.stdout.read())  # the live lines
        url, token = match.group(1), match.group(2)
        with tempfile.TemporaryDirectory(prefix="acd-shot-") as profile:
            async with running_browser(Path(profile)) as browser:
                console = await browser.new_page(url, width=1400, height=1000)
                await logged_in(console, token)
                wall = await browser.new_page(url + "wallboard", width=1920, height=1080)
                await logged_in(wall, token)
                ready = (f"document.getElementById('clock').textContent >= '{at}' && "
                         "Number(document.querySelector('.queue[data-queue=\"ARM_N1\"] "
                         f".count').textContent) >= {waiting}")
                await console.wait_for(ready, timeout=600, interval=0.05)
                (out / "console.png").write_bytes(await console.screenshot())
                (out / "console-wallboard.png").write_bytes(await wall.screenshot())
        await drain
    finally:
        if demo.returncode is None:
            demo.terminate()
        await demo.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=REPO / "docs")
    parser.add_argument("--speed", type=float, default=60.0,
                        help="the demo's speed (default 60: the morning in four minutes)")
    parser.add_argument("--at", default="09:33", help="not before this time of the morning")
    parser.add_argument("--waiting", type=int, default=4,
                        help="nor before this many callers wait at N1")
    args = parser.parse_args(argv)
    asyncio.run(take(args.out, speed=args.speed, at=args.at, waiting=args.waiting))
    print(f"written: {args.out / 'console.png'}, {args.out / 'console-wallboard.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
