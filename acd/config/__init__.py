"""The site configuration.

This package exports the schema only (:mod:`acd.config.schema`), so importing it never
pulls in anything else of ``acd``: :mod:`acd.core.hours` reads the schema while
:mod:`acd.config.validate` uses the hours rules. Reading a file is
:mod:`acd.config.load`; secrets :mod:`acd.config.secrets`; the generated reference
:mod:`acd.config.reference`; the warnings of ``acd check-config``
:mod:`acd.config.warnings`; the names the dialplan must define
:mod:`acd.config.dialplan`.
"""

from acd.config.schema import (
    BACK_OFFICE,
    FRONT_OFFICE,
    SKILL_NAME_RE,
    STANDARD_SKILLS,
    AgentConfig,
    AmiConfig,
    ApiConfig,
    Config,
    DialplanNames,
    HoursConfig,
    HttpConfig,
    LeaderConfig,
    NonNegative,
    NumberConfig,
    OverflowRule,
    PartnerConfig,
    Port,
    Positive,
    RedisConfig,
    RoutingConfig,
    SiteConfig,
    SkillConfig,
    SkillName,
    Strict,
    TransferConfig,
    TransferMode,
    is_front_office,
    namespace_of,
    slugify,
    with_routing,
)

__all__ = [
    "BACK_OFFICE",
    "FRONT_OFFICE",
    "SKILL_NAME_RE",
    "STANDARD_SKILLS",
    "AgentConfig",
    "AmiConfig",
    "ApiConfig",
    "Config",
    "DialplanNames",
    "HoursConfig",
    "HttpConfig",
    "LeaderConfig",
    "NonNegative",
    "NumberConfig",
    "OverflowRule",
    "PartnerConfig",
    "Port",
    "Positive",
    "RedisConfig",
    "RoutingConfig",
    "SiteConfig",
    "SkillConfig",
    "SkillName",
    "Strict",
    "TransferConfig",
    "TransferMode",
    "is_front_office",
    "namespace_of",
    "slugify",
    "with_routing",
]
