"""aiohttp's own log lines, as one JSON line each with no request text in it.

aiohttp's low-level server logs a request it could not parse (a header over 8 KiB, a
request with both ``Content-Length`` and ``Transfer-Encoding``…) or a handler that
raised with ``logger.exception``: a multi-line traceback on standard error, whose
exception message quotes the offending bytes, such as the start of an
``Authorization: Bearer …`` header. :data:`SERVER_LOGGER` is given to the server
instead of aiohttp's ``aiohttp.server`` logger: each of its records becomes one line of
the router's JSON log that names the error's class (and, for a request that could not
be parsed, the status answered), never its message nor any byte of the request.

* ``http_bad_request`` (warning): the request could not be parsed; aiohttp answered
  ``status`` and closed the connection.
* ``http_server_error`` (error): a handler raised; ``where`` is the innermost frame
  (``module.py:line in function``, no value).

A request that is not HTTP at all (TLS or noise on the first bytes of a connection) is
logged by aiohttp at debug level on purpose: it stays out of the log, as before.
"""

from __future__ import annotations

import logging

from aiohttp.http_exceptions import HttpProcessingError

from acd.logs import get_logger, where

log = get_logger("acd.http")


class OneLineHandler(logging.Handler):
    """A record of aiohttp's server logger → one structlog line, no free text."""

    def emit(self, record: logging.LogRecord) -> None:
        exc = record.exc_info[1] if record.exc_info else None
        peer = record.args[0] if isinstance(record.args, tuple) and record.args else None
        peer = peer if isinstance(peer, str) else None
        if isinstance(exc, HttpProcessingError):
            log.warning("http_bad_request", error=type(exc).__name__, status=exc.code,
                        peer=peer)
        elif exc is not None:
            log.error("http_server_error", error=type(exc).__name__, where=where(exc),
                      peer=peer)
        else:  # aiohttp's own fixed text ("Missing return statement…"), not formatted
            log.error("http_server_error", error=None, what=str(record.msg), peer=peer)


def _server_logger() -> logging.Logger:
    # a logger of its own, outside logging's tree: nothing propagates to the root
    # logger's handlers (or to logging.lastResort on standard error)
    logger = logging.Logger("acd.http.server", logging.INFO)
    logger.addHandler(OneLineHandler())
    return logger


#: the logger the HTTP server gives aiohttp's request handlers
SERVER_LOGGER = _server_logger()
