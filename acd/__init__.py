"""acd: call distribution for a French SAS, beside Asterisk."""

__version__ = "0.1.0"
