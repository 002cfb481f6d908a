"""Debian's Chromium, headless, driven over its DevTools protocol: one WebSocket with
aiohttp, no driver library.

``Browser.start`` runs ``chromium`` with a new empty profile and
``--remote-debugging-port=0``, reads the port it chose from the profile's
``DevToolsActivePort``, and speaks CDP on the browser's socket, one flat session per
page. Each page lives in a browser context of its own (its own cookies: a supervisor's
page and a reader's page side by side). A click is a real mouse press and release at
the middle of the element (``Input.dispatchMouseEvent``), typing is
``Input.insertText``. Uncaught exceptions and console errors of the page (a refused
Content-Security-Policy among them; not a request answered 4xx, which the tests check
where they send it) are kept in :attr:`Page.errors`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

#: the flags this machine needs (no sandbox as root, no GPU, nothing fetched from the
#: network by the browser itself)
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--disable-default-apps", "--mute-audio",
         "--window-size=1400,1000", "--remote-debugging-port=0")


def _prepare(profile: Path) -> Path:
    """The new profile's folder made; where the browser writes its DevTools port."""
    profile.mkdir(parents=True, exist_ok=True)
    return profile / "DevToolsActivePort"


def _devtools_address(port_file: Path) -> list[str]:
    """The port and the browser's path, once the browser wrote them."""
    return port_file.read_text().split() if port_file.exists() else []


def chromium() -> str | None:
    """The browser to run, if installed (``scripts/system-programs`` installs it)."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


class CdpError(Exception):
    pass


class Browser:
    """A running Chromium and its DevTools socket."""

    def __init__(self, process: asyncio.subprocess.Process, http: aiohttp.ClientSession,
                 socket: aiohttp.ClientWebSocketResponse) -> None:
        self.process = process
        self._http = http
        self._socket = socket
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.pages: dict[str, Page] = {}
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, profile: Path) -> Browser:
        program = chromium()
        assert program is not None, "chromium is not installed (scripts/system-programs)"
        port_file = _prepare(profile)
        process = await asyncio.create_subprocess_exec(
            program, *FLAGS, f"--user-data-dir={profile}", "about:blank",
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL)
        try:
            async with asyncio.timeout(30):
                while True:
                    lines = _devtools_address(port_file)
                    if len(lines) >= 2:
                        break
                    assert process.returncode is None, "chromium exited at start"
                    await asyncio.sleep(0.05)
            http = aiohttp.ClientSession()
            socket = await http.ws_connect(f"ws://127.0.0.1:{lines[0]}{lines[1]}",
                                           max_msg_size=0)
        except BaseException:
            process.kill()
            await process.wait()
            raise
        return cls(process, http, socket)

    async def _read(self) -> None:
        async for message in self._socket:
            if message.type is not aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(message.data)
            if "id" in data:
                future = self._waiting.pop(data["id"], None)
                if future is not None and not future.done():
                    future.set_result(data)
            elif "sessionId" in data and data["sessionId"] in self.pages:
                self.pages[data["sessionId"]].on_event(data["method"], data.get("params", {}))
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(CdpError("the browser went away"))

    async def send(self, method: str, params: dict[str, Any] | None = None,
                   session: str | None = None) -> dict[str, Any]:
        number = next(self._ids)
        message: dict[str, Any] = {"id": number, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[number] = future
        await self._socket.send_str(json.dumps(message))
        async with asyncio.timeout(30):
            answer = await future
        if "error" in answer:
            raise CdpError(f"{method}: {answer['error']}")
        result: dict[str, Any] = answer.get("result", {})
        return result

    async def new_page(self, url: str, *, width: int = 1400, height: int = 1000) -> Page:
        """A page in a browser context of its own (its own cookies), at ``url``."""
        context = await self.send("Target.createBrowserContext", {"disposeOnDetach": True})
        target = await self.send("Target.createTarget", {
            "url": "about:blank", "browserContextId": context["browserContextId"]})
        attached = await self.send("Target.attachToTarget",
                                   {"targetId": target["targetId"], "flatten": True})
        page = Page(self, attached["sessionId"])
        self.pages[page.session] = page
        for domain in ("Page", "Runtime", "Log"):
            await page.send(f"{domain}.enable")
        await page.send("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        await page.goto(url)
        return page

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.send("Browser.close")
        await self._socket.close()
        await self._http.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
        try:
            async with asyncio.timeout(10):
                await self.process.wait()
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


class Page:
    """One tab of the browser."""

    def __init__(self, browser: Browser, session: str) -> None:
        self.browser = browser
        self.session = session
        #: uncaught exceptions and console errors, as text
        self.errors: list[str] = []

    def on_event(self, method: str, params: dict[str, Any]) -> None:
        if method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            self.errors.append(str(details.get("exception", {}).get("description")
                                   or details.get("text")))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error" \
                and params["entry"].get("source") != "network":  # statuses: asserted apart
            entry = params["entry"]
            self.errors.append(f"{entry.get('source')}: {entry.get('text')} {entry.get('url', '')}")

    async def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return await self.browser.send(method, params, self.session)

    async def goto(self, url: str) -> None:
        await self.send("Page.navigate", {"url": url})
        await self.wait_for("document.readyState === 'complete' && location.href !== "
                            "'about:blank'")

    async def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (JSON-able)."""
        answer = await self.send("Runtime.evaluate", {
            "expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in answer:
            raise CdpError(f"{expression}: {answer['exceptionDetails']}")
        return answer.get("result", {}).get("value")

    async def wait_for(self, expression: str, timeout: float = 10.0,
                       interval: float = 0.02) -> Any:
        """Evaluate ``expression`` until it is truthy; its value."""
        async with asyncio.timeout(timeout):
            while True:
                value = await self.evaluate(expression)
                if value:
                    return value
                await asyncio.sleep(interval)

    async def click(self, selector: str) -> None:
        """A left click of the mouse at the middle of the first element ``selector``
        finds (scrolled into view first)."""
        box = await self.evaluate(
            f"(function () {{ var e = document.querySelector({json.dumps(selector)});"
            " if (!e) return null; e.scrollIntoView({block: 'center'});"
            " var r = e.getBoundingClientRect();"
            " return {x: r.left + r.width / 2, y: r.top + r.height / 2, w: r.width}; })()")
        assert box is not None and box["w"] > 0, f"nothing visible matches {selector}"
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            await self.send("Input.dispatchMouseEvent", {
                "type": kind, "x": box["x"], "y": box["y"], "button": "left",
                "clickCount": 1})

    async def type(self, selector: str, text: str) -> None:
        await self.click(selector)
        await self.send("Input.insertText", {"text": text})

    async def screenshot(self) -> bytes:
        """The whole page as a PNG."""
        shot = await self.send("Page.captureScreenshot", {"format": "png",
                                                          "captureBeyondViewport": True})
        return base64.b64decode(shot["data"])

    async def text(self, selector: str) -> str:
        value = await self.evaluate(
            f"(function () {{ var e = document.querySelector({json.dumps(selector)});"
            " return e ? e.textContent : null; })()")
        return str(value) if value is not None else ""


@contextlib.asynccontextmanager
async def running_browser(profile: Path) -> AsyncIterator[Browser]:
    browser = await Browser.start(profile)
    try:
        yield browser
    finally:
        await browser.close()
