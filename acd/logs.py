"""JSON logs with structlog, and the masking of personal data.

Caller numbers are personal health data: every log line goes through
:func:`mask_personal_data`, which masks the values of the keys that may hold one,
so a careless ``log.info(..., caller=...)`` cannot leak a number into journald.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

#: log keys whose values are masked wherever they appear
PERSONAL_KEYS = frozenset({"caller", "caller_num", "caller_number", "callerid", "CallerIDNum",
                           "ConnectedLineNum", "number_from", "secret", "Secret", "token"})


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
    return event_dict


def configure(stream: TextIO | None = None, level: int = logging.INFO) -> None:
    """JSON lines on ``stream`` (stdout for the service, stderr for the CLI tools)."""
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=False),
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
