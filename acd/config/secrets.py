"""Where secrets come from: the environment, a secrets file, or systemd credentials.

Never from the config file (check-config refuses an ``ami.secret`` key) and never
into a log line.
"""

from __future__ import annotations

import os
from pathlib import Path

from acd.config.schema import Config
from acd.errors import SecretError

AMI_SECRET_ENV = "ACD_AMI_SECRET"
AMI_SECRET_CREDENTIAL = "ami-secret"


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SecretError(f"cannot read secret file {path}: {exc.strerror}") from exc


def ami_secret(config: Config, environ: dict[str, str] | None = None) -> str:
    """The AMI secret: $ACD_AMI_SECRET, else ami.secret_file, else
    $CREDENTIALS_DIRECTORY/ami-secret (systemd ``LoadCredential=``)."""
    env = os.environ if environ is None else environ
    secret = env.get(AMI_SECRET_ENV, "")
    if not secret and config.ami.secret_file:
        secret = _read(Path(config.ami.secret_file))
    credentials = env.get("CREDENTIALS_DIRECTORY")
    if not secret and credentials and (Path(credentials) / AMI_SECRET_CREDENTIAL).is_file():
        secret = _read(Path(credentials) / AMI_SECRET_CREDENTIAL)
    if not secret:
        raise SecretError(f"no AMI secret: set {AMI_SECRET_ENV}, ami.secret_file, or a "
                          f"systemd credential named {AMI_SECRET_CREDENTIAL}")
    return secret


REDIS_PASSWORD_ENV = "ACD_REDIS_PASSWORD"
REDIS_PASSWORD_CREDENTIAL = "redis-password"


def redis_password(config: Config, environ: dict[str, str] | None = None) -> str | None:
    """The Redis password, if any: $ACD_REDIS_PASSWORD, else redis.password_file, else
    $CREDENTIALS_DIRECTORY/redis-password; None when Redis needs none."""
    return redis_password_and_source(config, environ)[0]


def redis_password_and_source(config: Config, environ: dict[str, str] | None = None,
                              ) -> tuple[str | None, str]:
    """The Redis password (None when Redis needs none) and where it was found, for the
    logs: ``"$ACD_REDIS_PASSWORD"``, ``"redis.password_file"``, ``"credential
    redis-password"`` or ``"none"``. An empty source counts as none (systemd loads an
    empty /etc/acd/redis-password on a Redis without a password)."""
    env = os.environ if environ is None else environ
    if env.get(REDIS_PASSWORD_ENV, ""):
        return env[REDIS_PASSWORD_ENV], f"${REDIS_PASSWORD_ENV}"
    if config.redis is not None and config.redis.password_file:
        secret = _read(Path(config.redis.password_file))
        if secret:
            return secret, "redis.password_file"
    credentials = env.get("CREDENTIALS_DIRECTORY")
    if credentials and (Path(credentials) / REDIS_PASSWORD_CREDENTIAL).is_file():
        secret = _read(Path(credentials) / REDIS_PASSWORD_CREDENTIAL)
        if secret:
            return secret, f"credential {REDIS_PASSWORD_CREDENTIAL}"
    return None, "none"


def secret_file_problems(config: Config) -> list[tuple[str, str]]:
    """``(key, problem)`` for each secret file the config names that cannot be read
    (``acd check-config``): missing, not a regular file, or not readable by this user.
    Only opened, never read: nothing of a secret is printed."""
    named = [("ami.secret_file", config.ami.secret_file),
             ("api.tokens_file", config.api.tokens_file)]
    if config.redis is not None:
        named.append(("redis.password_file", config.redis.password_file))
    problems = []
    for key, name in named:
        if not name:
            continue
        path = Path(name)
        if not path.exists():
            problems.append((key, f"no such file: {path}"))
        elif not path.is_file():
            problems.append((key, f"not a regular file: {path}"))
        else:
            try:
                with path.open("rb"):
                    pass
            except OSError as exc:
                problems.append((key, f"cannot read {path}: {exc.strerror}"))
    return problems
