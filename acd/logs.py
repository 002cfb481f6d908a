"""JSON logs with structlog, and the masking of personal data.

Caller numbers are personal health data: every log line goes through
:func:`mask_personal_data`, which masks the values of the keys that may hold one,
so a careless ``log.info(..., caller=...)`` cannot leak a number into journald.
Free text (an API ``reason``, an audited ``body``, a ``detail``) may hold a number
typed by a person: in those values every run of six digits or more (spaces, dots and
dashes allowed between them, a leading ``+``) is masked the same way.

Every line's ``timestamp`` is ISO 8601 in UTC with a ``Z`` (:func:`utc_timestamp`), as
is the API audit's ``at``: one unambiguous moment, even in the October night when the
local clock shows 02:30 twice.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from datetime import UTC, datetime
from typing import Any, TextIO

import structlog

#: log keys whose values are masked wherever they appear
PERSONAL_KEYS = frozenset({"caller", "caller_num", "caller_number", "callerid", "CallerIDNum",
                           "ConnectedLineNum", "number_from", "secret", "Secret", "token"})


#: log keys whose values are free text: numbers in them are masked
FREE_TEXT_KEYS = frozenset({"reason", "detail", "body", "message", "pending_reason"})
#: a phone-number-like run: six digits or more, single separators allowed; not inside a
#: word or a channel name (``incoming-00000042``), which are not typed by people
_NUMBER_IN_TEXT = re.compile(r"(?<![\w/@-])\+?\d(?:[ .-]?\d){5,}(?![\w])")


def mask_text(value: str) -> str:
    """Free text with every phone-number-like run masked (``06 12 34 56 78`` →
    ``06******78``)."""
    return _NUMBER_IN_TEXT.sub(lambda m: mask_number(re.sub(r"\D", "", m.group())), value)


def mask_free_text(value: Any) -> Any:
    """``value`` (text, or a decoded JSON body) with the numbers of its text masked."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: mask_free_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_free_text(v) for v in value]
    return value


def mask_number(value: str) -> str:
    """``0612345678`` → ``06******78``: enough to tell calls apart, not to call back."""
    if len(value) <= 4:
        return "*" * len(value)
    return value[:2] + "*" * (len(value) - 4) + value[-2:]


def mask_personal_data(_logger: Any, _name: str,
                       event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in PERSONAL_KEYS.intersection(event_dict):
        value = event_dict[key]
        if key.lower() in ("secret", "token"):
            event_dict[key] = "***"
        elif isinstance(value, str):
            event_dict[key] = mask_number(value)
    for key in FREE_TEXT_KEYS.intersection(event_dict):
        event_dict[key] = mask_free_text(event_dict[key])
    return event_dict


def utc_timestamp(timespec: str = "microseconds") -> str:
    """Now, ISO 8601 in UTC with ``Z``: ``2026-10-25T01:30:00.123456Z``."""
    return datetime.now(UTC).isoformat(timespec=timespec).removesuffix("+00:00") + "Z"


def add_timestamp(_logger: Any, _name: str,
                  event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    event_dict["timestamp"] = utc_timestamp()
    return event_dict


def configure(stream: TextIO | None = None, level: int = logging.INFO) -> None:
    """JSON lines on ``stream`` (stdout for the service, stderr for the CLI tools)."""
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            add_timestamp,
            mask_personal_data,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(stream or sys.stdout),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)


def where(exc: BaseException) -> str:
    """``module.py:line in function`` of the innermost frame of ``exc``: enough to find
    a bug, and no value (a caller's number could be in any message)."""
    tb = exc.__traceback__
    if tb is None:
        return ""
    while tb.tb_next is not None:
        tb = tb.tb_next
    code = tb.tb_frame.f_code
    return f"{code.co_filename.rsplit('/', 1)[-1]}:{tb.tb_lineno} in {code.co_name}"
