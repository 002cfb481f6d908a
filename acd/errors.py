"""Errors with stable codes: operators' scripts may match on ``code``."""

from __future__ import annotations


class AcdError(Exception):
    """Base of every error acd raises on purpose."""

    code = "acd_error"


class ConfigError(AcdError):
    """A config file is unreadable or invalid; ``problems`` lists every finding."""

    code = "config_invalid"

    def __init__(self, path: str, problems: list[tuple[str, str]]) -> None:
        self.path = path
        #: (key path, problem) pairs, e.g. ("agents[3].skills.PSY", "unknown skill")
        self.problems = problems
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        """One ``file: key: problem`` line per finding, as check-config prints them."""
        return [f"{self.path}: {key or '(file)'}: {problem}" for key, problem in self.problems]


class SecretError(AcdError):
    """The AMI secret (or an API token) could not be found."""

    code = "secret_missing"


class AmiError(AcdError):
    """Base of AMI connection and action errors."""

    code = "ami_error"


class AmiDisconnected(AmiError):
    """The AMI connection is down; the action was not sent."""

    code = "ami_disconnected"


class AmiLoginFailed(AmiError):
    """Asterisk refused our login (wrong user or secret)."""

    code = "ami_login_failed"


class AmiActionFailed(AmiError):
    """Asterisk answered ``Response: Error`` to an action."""

    code = "ami_action_failed"

    def __init__(self, action: str, message: str) -> None:
        self.action = action
        self.message = message
        super().__init__(f"{action}: {message}")


class IllegalTransition(AcdError):
    """A state change the state table does not allow; the state is left unchanged."""

    code = "illegal_transition"
