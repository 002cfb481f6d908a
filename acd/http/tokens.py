"""API tokens: where they come from, what they allow, how they are checked.

A tokens file is a secret, like the AMI secret (:mod:`acd.secrets`), and is found the
same way: ``api.tokens_file`` in the config, else ``$ACD_API_TOKENS_FILE``, else
``$CREDENTIALS_DIRECTORY/api-tokens`` (systemd ``LoadCredential=``). None of them: no
token, and every ``/api/`` route answers 401 saying how to configure one.

The file is TOML or JSON (JSON when it starts with ``{``), a table per token::

    ["sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"]
    role = "supervisor"          # reader | agent | supervisor
    name = "sup-martin"          # who, in the audit trail and the logs
    caller_numbers = true        # supervisors only: see callers' numbers in full

    ["a-long-random-plain-token-for-arm01"]
    role = "agent"
    name = "arm01 desk"
    agent = "arm01"              # required for the agent role: the only agent it acts on

A key is the token itself (at least 16 characters) or ``sha256:`` and the hex SHA-256
of the token, so the file need not hold usable tokens. Only digests are kept in memory;
a presented token is hashed and compared with every known digest in constant time. A
token never reaches a log line (the logs mask any ``token`` key as well).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import tomllib
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Literal

import msgspec

from acd.config import Config
from acd.errors import SecretError

TOKENS_FILE_ENV = "ACD_API_TOKENS_FILE"
TOKENS_CREDENTIAL = "api-tokens"
#: the shortest plain token accepted (a digest can stand for any token)
MIN_TOKEN_LENGTH = 16
HOW_TO_CONFIGURE = (f"no API token is configured: set api.tokens_file, ${TOKENS_FILE_ENV}, "
                    f"or a systemd credential named {TOKENS_CREDENTIAL} "
                    "(see acd/http/tokens.py for the file format)")

Role = Literal["reader", "agent", "supervisor"]
_DIGEST_RE = re.compile(r"^sha256:([0-9a-fA-F]{64})$")


class TokenEntry(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One token's rights, as written in the file."""

    role: Role
    name: str
    agent: str | None = None
    caller_numbers: bool = False


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """Who is calling: what an accepted token stands for."""

    name: str
    role: Role
    agent: str | None = None
    caller_numbers: bool = False

    @property
    def sees_numbers(self) -> bool:
        """Whether callers' numbers are shown in full (else masked)."""
        return self.role == "supervisor" and self.caller_numbers


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


class TokenSet:
    """Known token digests → principals."""

    def __init__(self, entries: Mapping[bytes, Principal] | None = None,
                 source: str = "") -> None:
        self._entries = dict(entries or {})
        #: where the tokens were read from (a path), for the logs
        self.source = source

    def __len__(self) -> int:
        return len(self._entries)

    def roles(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for principal in self._entries.values():
            counts[principal.role] = counts.get(principal.role, 0) + 1
        return counts

    def check(self, token: str) -> Principal | None:
        """The principal of ``token``, or None. Every digest is compared (constant time
        per comparison, no early exit), so timing tells nothing about near misses."""
        presented = digest(token)
        found: Principal | None = None
        for known, principal in self._entries.items():
            if hmac.compare_digest(known, presented):
                found = principal
        return found


def parse_tokens(raw: bytes, name: str = "<tokens>",
                 agents: Collection[str] | None = None) -> TokenSet:
    """Decode a tokens file; raise SecretError naming the file and the bad entry (never
    the token: an entry is named by its position)."""
    try:
        text = raw.decode("utf-8")
        data: object = json.loads(text) if text.lstrip().startswith("{") else \
            tomllib.loads(text)
    except (UnicodeDecodeError, ValueError) as exc:  # TOMLDecodeError is a ValueError
        raise SecretError(f"{name}: not a TOML or JSON tokens file ({type(exc).__name__})"
                          ) from None
    if not isinstance(data, dict):
        raise SecretError(f"{name}: a tokens file maps each token to a table")
    entries: dict[bytes, Principal] = {}
    for n, (key, value) in enumerate(data.items(), start=1):
        where = f"{name}: token #{n}"
        try:
            entry = msgspec.convert(value, TokenEntry)
        except msgspec.ValidationError as exc:
            raise SecretError(f"{where}: {exc}") from None
        match = _DIGEST_RE.match(key)
        if match:
            key_digest = bytes.fromhex(match.group(1))
        elif key.startswith("sha256:"):
            raise SecretError(f"{where}: sha256: must be followed by 64 hex digits")
        elif len(key) < MIN_TOKEN_LENGTH:
            raise SecretError(f"{where}: a token needs at least {MIN_TOKEN_LENGTH} characters")
        else:
            key_digest = digest(key)
        if not entry.name.strip():
            raise SecretError(f"{where}: name must not be empty")
        if entry.role == "agent" and not entry.agent:
            raise SecretError(f"{where} ({entry.name}): the agent role needs agent = <id>")
        if entry.role != "agent" and entry.agent is not None:
            raise SecretError(f"{where} ({entry.name}): only the agent role names an agent")
        if entry.caller_numbers and entry.role != "supervisor":
            raise SecretError(f"{where} ({entry.name}): caller_numbers is for supervisors only")
        if agents is not None and entry.agent is not None and entry.agent not in agents:
            raise SecretError(f"{where} ({entry.name}): unknown agent {entry.agent!r}")
        if key_digest in entries:
            raise SecretError(f"{where} ({entry.name}): the same token appears twice")
        entries[key_digest] = Principal(name=entry.name, role=entry.role, agent=entry.agent,
                                        caller_numbers=entry.caller_numbers)
    return TokenSet(entries, source=name)


def tokens_path(config: Config, environ: Mapping[str, str] | None = None) -> Path | None:
    """The tokens file to read, or None when none is configured."""
    env = os.environ if environ is None else environ
    if config.api.tokens_file:
        return Path(config.api.tokens_file)
    if env.get(TOKENS_FILE_ENV):
        return Path(env[TOKENS_FILE_ENV])
    credentials = env.get("CREDENTIALS_DIRECTORY")
    if credentials and (Path(credentials) / TOKENS_CREDENTIAL).is_file():
        return Path(credentials) / TOKENS_CREDENTIAL
    return None


def load_tokens(config: Config, environ: Mapping[str, str] | None = None) -> TokenSet:
    """The API tokens (an empty set when none is configured); SecretError if a file is
    named but cannot be read or is malformed."""
    path = tokens_path(config, environ)
    if path is None:
        return TokenSet()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SecretError(f"cannot read API tokens file {path}: {exc.strerror}") from exc
    return parse_tokens(raw, str(path), agents={a.id for a in config.agents})
