"""The site configuration schema: typed Structs, their constants and small helpers.

Names, bounds and defaults live here, with a ``#:`` comment above each field: the
reference (:mod:`acd.config.reference`) is generated from this file. Reading a file is
:mod:`acd.config.load`; checks across keys are :mod:`acd.config.validate`. Secrets never
live here: see :mod:`acd.config.secrets`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import msgspec

from acd.config.dialplan_defaults import DIALPLAN

#: the front office (ARM N1): where every call of the number plan lands by default
FRONT_OFFICE = "ARM_N1"
#: the AMU back office (N2)
BACK_OFFICE = "AMU_N2"
#: The four roles of every SAS room; a site may add more (e.g. PSY).
STANDARD_SKILLS: tuple[str, ...] = (FRONT_OFFICE, BACK_OFFICE, "OSNP", "MG")

#: a delay in seconds: finite, at most a day
NonNegative = Annotated[float, msgspec.Meta(ge=0, le=86_400)]
Positive = Annotated[float, msgspec.Meta(gt=0, le=86_400)]
Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]
SKILL_NAME_RE = r"^[A-Z][A-Z0-9_]{0,31}$"
SkillName = Annotated[str, msgspec.Meta(pattern=SKILL_NAME_RE)]


class Strict(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """Base: unknown keys are errors."""


class SiteConfig(Strict, frozen=True):
    #: the site's name, in logs, /healthz, summaries and reports ("SAS 59 Nord")
    name: str
    #: département code as INSEE writes it: "59", "2A", "974"
    departement: Annotated[str, msgspec.Meta(pattern=r"^(\d{2}|2[AB]|97\d)$")]
    #: IANA time zone of the département's local time (Indian/Reunion for 974…): hours,
    #: holidays and report dates are read in it
    timezone: str = "Europe/Paris"


class AmiConfig(Strict, frozen=True):
    #: Asterisk's manager interface (manager.conf [general] bindaddr): the router runs
    #: on the same host, AMI is never exposed to the network
    host: str = "127.0.0.1"
    #: manager.conf [general] port
    port: Port = 5038
    #: the router's AMI user (a section of manager.conf, dialplans/manager_acd.conf)
    username: str = "acd"
    #: file holding the secret; if unset, ACD_AMI_SECRET or $CREDENTIALS_DIRECTORY/ami-secret
    secret_file: str | None = None
    #: a TCP connection to AMI not made within this time counts as failed
    connect_timeout_s: Positive = 5.0
    #: a Ping is sent after this much silence on the link ...
    keepalive_s: Positive = 5.0
    #: ... and the link is declared dead if no answer comes within this time
    keepalive_timeout_s: Positive = 3.0
    #: while Asterisk's port refuses connections (Asterisk stopped or restarting), it is
    #: tried again this often (at most every 0.5 s), however long the outage; after a
    #: session that connected and then failed (login refused, dropped), the first delay
    #: before reconnecting, doubled at each such failure (with jitter) ...
    reconnect_initial_s: Positive = 0.5
    #: ... up to this; the delay starts again from reconnect_initial_s only after a
    #: session that stayed up at least this long (a peer that accepts the connection and
    #: drops it, or refuses the login, is retried ever more slowly)
    reconnect_max_s: Positive = 30.0
    #: how long an action may wait for its response before it counts as failed
    action_timeout_s: Positive = 5.0
    #: every this many seconds a ``Status`` list is compared with the router's view and
    #: drift is repaired (an agent "on call" with no channel, a call whose channel is
    #: gone); 0 turns the periodic reconciler off (the resync at each login stays)
    reconcile_s: NonNegative = 30.0


class HttpConfig(Strict, frozen=True):
    #: address of /healthz, /metrics and the API; another address than loopback exposes
    #: the API to the network (configure tokens first)
    bind: str = "127.0.0.1"
    #: TCP port (0: any free port, logged in router_started)
    port: Annotated[int, msgspec.Meta(ge=0, le=65535)] = 8080
    #: connections served at once (/healthz, /metrics, API calls, event streams); one
    #: more is closed at once (counted, logged). The units' LimitNOFILE= (2048) leaves
    #: room for it: raise both together
    max_connections: Annotated[int, msgspec.Meta(ge=8, le=60_000)] = 512
    #: a new connection must send its first request's headers within this time, or it
    #: is closed (a client that sends them a byte at a time cannot hold a slot)
    header_timeout_s: Annotated[float, msgspec.Meta(gt=0, le=300)] = 10.0
    #: a kept-alive connection with no complete next request within this time is closed
    keepalive_timeout_s: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 15.0


class ApiConfig(Strict, frozen=True):
    """The supervisor and agent API (``/api/v1/``), served on ``[http]`` bind and port.

    It answers only to tokens (see :mod:`acd.http.tokens`); with none configured every
    ``/api/`` route answers 401. ``[http].bind`` defaults to 127.0.0.1: binding another
    address exposes the API to the network, so configure tokens first.
    """

    #: TOML or JSON file of tokens; if unset, $ACD_API_TOKENS_FILE or
    #: $CREDENTIALS_DIRECTORY/api-tokens (systemd ``LoadCredential=``)
    tokens_file: str | None = None
    #: an SSE comment is sent after this many seconds without an event (keeps proxies
    #: and desktops from timing the stream out)
    heartbeat_s: Positive = 15.0
    #: events buffered per stream client; a slower client loses the oldest and is told
    #: so by a ``lagged`` event
    stream_buffer: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 1000


class RedisConfig(Strict, frozen=True):
    """Durable state (:mod:`acd.store`): journal, snapshot, call records, API audit.

    Written behind the engine: a slow or dead Redis never delays a call."""

    #: redis://host:port/db (rediss:// for TLS); no password here: $ACD_REDIS_PASSWORD,
    #: ``password_file`` or the systemd credential ``redis-password``
    url: str = "redis://127.0.0.1:6379/0"
    #: file holding the Redis password (ACL user: put it in the URL as redis://user@…)
    password_file: str | None = None
    #: Redis Sentinel: "host:port" of each sentinel; the master is then asked of them
    #: (``sentinel_service``) and ``url`` gives only the database number
    sentinels: list[Annotated[str, msgspec.Meta(pattern=r"^[^\s:]+:\d{1,5}$")]] = \
        msgspec.field(default_factory=list)
    #: the master's name in the sentinels' configuration (``sentinel monitor <name> …``)
    sentinel_service: str = "acd"
    #: every key of the site is ``acd:{<namespace>}:…`` (one Redis Cluster hash slot);
    #: default: the site name, slugified ("SAS 59 Nord" → "sas-59-nord")
    namespace: Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")] | None = None
    #: journal entries, call records and audit entries held in memory while Redis is
    #: slow or down; beyond it the oldest journal entries are dropped (counted)
    journal_buffer: Annotated[int, msgspec.Meta(ge=100, le=10_000_000)] = 100_000
    #: approximate length the journal stream is trimmed to (XADD MAXLEN ~)
    journal_maxlen: Annotated[int, msgspec.Meta(ge=1000)] = 1_000_000
    #: call records (and audit entries) are kept this many days (XADD MINID ~); the
    #: DGOS report needs at least 400
    records_retention_days: Annotated[int, msgspec.Meta(ge=1, le=36_500)] = 400
    #: keep the caller's name (CallerIDName) in the call records and their journal
    #: entry; false: ``caller_name`` is written empty. The DGOS report does not need
    #: it, and a record is kept records_retention_days. No caller's number is ever
    #: written to Redis (the snapshot leaves it out; Asterisk gives it back at resync)
    records_caller_name: bool = False
    #: the writer collects a batch for this long after the first new entry; 0: it
    #: writes at once, and what comes while a write is in flight makes the next batch
    flush_interval_s: Annotated[float, msgspec.Meta(ge=0, le=5)] = 0.0
    #: at most this many entries per batch (one atomic script call in Redis)
    batch_max: Annotated[int, msgspec.Meta(ge=10, le=100_000)] = 5000
    #: a Redis command taking longer than this counts as a failure (then retried)
    timeout_s: Annotated[float, msgspec.Meta(gt=0, le=60)] = 2.0
    #: at start, how long to keep trying to read the snapshot before starting without it
    restore_timeout_s: Annotated[float, msgspec.Meta(ge=0, le=300)] = 5.0
    #: retry delays after a failed write: exponential from ..._initial_s to ..._max_s
    retry_initial_s: Positive = 0.1
    retry_max_s: Positive = 5.0


class LeaderConfig(Strict, frozen=True):
    """``[leader]``: an active/standby pair sharing one Asterisk and one Redis.

    Without this section (or with ``enabled = false``) the router is alone and always
    decides. With it, routers take a lock in Redis (``acd:{ns}:leader``) with a TTL and
    a fencing token; only the holder sends AMI actions, the others follow the events.
    """

    enabled: bool = True
    #: the lock's time to live; the holder renews it every ttl_s / 3 seconds, and a
    #: standby takes over at most ttl_s (plus one renew period) after the last renewal.
    #: Keep heartbeat_s + ttl_s × 9/8 under the dialplan's ACD_FAILOPEN_S (10 s shipped:
    #: ttl_s under 8): else the dialplan fails the waiting callers open before the
    #: standby takes over. `acd check-config` warns of it rather than refusing the file:
    #: it cannot see the site's ACD_FAILOPEN_S, and a refused file stops the service
    #: from starting, which fails every caller open
    ttl_s: Annotated[float, msgspec.Meta(ge=0.3, le=60)] = 2.0
    #: this router's name in the lock; default: hostname and process id
    node_id: str | None = None


class RoutingConfig(Strict, frozen=True):
    #: seconds an agent's phone may ring before the call goes back to the head of its
    #: queue (the dialplan's ACD_RING by default)
    ring_timeout_s: Positive = float(DIALPLAN.ring_s)
    #: consecutive unanswered offers before the agent is paused with reason "no answer"
    max_missed_offers: Annotated[int, msgspec.Meta(ge=1)] = 2
    #: a connected caller whose agent leg vanished, with no news from the dialplan,
    #: goes back to the head of its queue after this many seconds
    orphan_requeue_s: NonNegative = 3.0
    #: extra seconds past ring_timeout_s before the router itself takes back a call
    #: whose dial the dialplan did not end (accelerated simulations raise it: real
    #: latency counts `speed` times there)
    ring_grace_s: NonNegative = 2.0
    #: priority given to calls that do not announce one (0 = life-threatening)
    default_priority: Annotated[int, msgspec.Meta(ge=0, le=9)] = 5
    #: an abandoned call shorter than this (arrival → hang-up, seconds) is a *short
    #: abandon* (misdial, pocket call): left out of "offered" in the answer rate
    short_abandon_s: NonNegative = 15.0
    #: the router refreshes the dialplan's heartbeat global (``[dialplan] heartbeat_var``)
    #: this often; the dialplan fails open after ``ACD_FAILOPEN_S`` without it
    heartbeat_s: Annotated[float, msgspec.Meta(gt=0, le=60)] = 1.0
    #: backups (agents holding a queue at level 2 or more): "spare" (default) lets one
    #: take a caller the room already handled (transferred in, given back) at once, and
    #: a new caller when their own filière can spare them (nobody waiting there, enough
    #: free people left for the calls it expects meanwhile), else after the skill's
    #: expansion_s as always; "fixed" waits expansion_s in every case
    backups: Literal["spare", "fixed"] = "spare"
    #: "spare": the chance accepted that a backup's own filière gets more calls during
    #: the loan than it has free people left (lower keeps more people back)
    spare_risk: Annotated[float, msgspec.Meta(gt=0, lt=1)] = 0.1
    #: "spare": seconds of recent traffic the arrival rate of each queue is measured
    #: over (an exponentially weighted average)
    demand_window_s: Annotated[float, msgspec.Meta(ge=60, le=86_400)] = 900.0
    #: phones rung at once for one caller, at most (a ring group: the first to answer
    #: takes the call, the others stop ringing). The others are agents of the same
    #: level the routing would give the caller too, longest idle first, and only those
    #: no other caller or warm transfer waits for. 1: one phone at a time
    ring_phones: Annotated[int, msgspec.Meta(ge=1, le=8)] = 3


class SkillConfig(Strict, frozen=True):
    #: after-call work time before the agent is offered the next call of this skill
    wrap_up_s: NonNegative = 10.0
    #: wait (seconds in queue) after which level-2, level-3… agents become eligible;
    #: element i is for level i+2 (level 1 is always eligible at once)
    expansion_s: list[NonNegative] = msgspec.field(default_factory=lambda: [20.0, 60.0])
    #: role label used for talk-time indicators (DGOS 19–23)
    role: str = ""


class NumberConfig(Strict, frozen=True):
    """One dialled number of the plan; see :mod:`acd.core.hours` for the periods."""

    #: entry queue (skill) of calls to this number in SAS hours (and always, for 15)
    queue: SkillName
    #: a name for people (reports, acd route)
    label: str = ""
    #: destination in PDSA hours: a queue of this site, or an Asterisk dial string
    #: (Tech/resource, e.g. a trunk to the PDSA regulation: "PJSIP/pdsa-trunk");
    #: unset: the same queue around the clock (15 may not have one)
    pdsa: str | None = None


class HoursConfig(Strict, frozen=True):
    """PDSA hours (art. R6315-1 of the public-health code) with the regional options.

    Times are local "HH:MM" in ``site.timezone``; public holidays are those of
    ``site.departement``. The rules and reasons are in :mod:`acd.core.hours`.
    """

    #: weekday evening start of PDSA hours ("20:00" by the code; 18:00 or 19:00 locally;
    #: never later than 20:00)
    evening_start: str = "20:00"
    #: end of the night, every day (never earlier than 08:00)
    morning_end: str = "08:00"
    #: Saturday from this time is PDSA (regional option; None: Saturday is a SAS day
    #: until the evening; the morning_end time: the whole Saturday, a local extension)
    saturday_from: str | None = "12:00"
    #: false: the Saturday option is off (TOML has no None), whatever saturday_from says
    saturday: bool = True
    #: the Monday before a Tuesday holiday, the Friday after a Thursday holiday and the
    #: Saturday after a Thursday or Friday holiday are whole PDSA days (the ponts)
    bridge_days: bool = False
    #: extra whole days of PDSA hours, ISO dates ("2026-12-24")
    extra_dates: list[str] = msgspec.field(default_factory=list)


#: "cold": the caller leaves the first agent at once; "warm": when the target answers
TransferMode = Literal["cold", "warm"]


class TransferConfig(Strict, frozen=True):
    #: a transferred call enters the target queue ahead of new calls of its priority
    ahead_of_new: bool = True
    #: a transferred call waiting longer than this gets the fallback
    max_wait_s: Positive = 120.0
    #: in order: back to the transferring agent, head of the original queue, overflow
    fallback: list[Literal["transferrer", "original_queue", "overflow"]] = msgspec.field(
        default_factory=lambda: ["transferrer", "original_queue", "overflow"])
    #: how a transfer is made when ``modes`` names no rule for its kind: "cold" (the
    #: caller waits for the target on music, the first agent is released at once) or
    #: "warm" (the first agent keeps the caller until an agent of the target answers)
    mode: TransferMode = "cold"
    #: per transfer kind: "FROM>TO" ("ARM_N1>AMU_N2"), "FROM>*" or "*>TO" → "cold" |
    #: "warm"; the most specific rule wins, then ``mode``
    modes: dict[str, TransferMode] = msgspec.field(default_factory=dict)
    #: warm: the longest the first agent keeps the caller while the router finds a free
    #: agent of the target and rings it; then the transfer is cancelled (the fallback)
    warm_max_wait_s: Positive = 30.0

    def mode_of(self, from_queue: str, to_queue: str) -> TransferMode:
        """The mode of a transfer from ``from_queue`` to ``to_queue``."""
        for key in (f"{from_queue}>{to_queue}", f"{from_queue}>*", f"*>{to_queue}"):
            mode = self.modes.get(key)
            if mode is not None:
                return mode
        return self.mode


class PartnerConfig(Strict, frozen=True):
    #: a name for logs and metrics (label ``partner``)
    name: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
    #: Asterisk dial string of the trunk to the partner SAS (PJSIP/sas62/15…)
    dial: Annotated[str, msgspec.Meta(min_length=3)]
    #: lower is tried first
    preference: Annotated[int, msgspec.Meta(ge=0, le=99)] = 0
    #: seconds a partner that failed is not tried again
    down_for_s: Positive = 300.0
    #: seconds the partner may ring before the call comes back
    ring_timeout_s: Positive = 20.0


class OverflowRule(Strict, frozen=True):
    #: overflow a call that has waited longer than this
    max_wait_s: Positive | None = None
    #: overflow new calls while more than this many calls wait
    max_waiting: Annotated[int, msgspec.Meta(ge=0)] | None = None
    #: overflow new calls while the estimated wait is over this
    max_estimated_wait_s: Positive | None = None
    #: overflow while no agent holding the skill is logged in
    when_no_agent: bool = False
    #: share of calls sent to partners whatever the load (partial overflow, 0.3 = 30 %)
    share: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.0
    #: partners by name (default: every partner, by preference)
    partners: list[str] = msgspec.field(default_factory=list)


class AgentConfig(Strict, frozen=True):
    #: the agent's id: in logs, in API paths (/api/v1/agents/{id}), and the extension
    #: the router sends callers to in acd-connect
    id: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
    #: Asterisk dial string of the agent's phone: PJSIP/arm01, Local/1001@agents
    device: Annotated[str, msgspec.Meta(min_length=3)]
    #: skill → level (1 = primary, 2 = backup…)
    skills: dict[SkillName, Annotated[int, msgspec.Meta(ge=1, le=9)]]
    #: a name for people (supervisor views)
    name: str = ""
    #: start logged in and available (otherwise the agent logs in with a feature code)
    logged_in: bool = False


class DialplanNames(Strict, frozen=True):
    """Names shared with the dialplan; defaults match ``dialplans/`` and the recordings."""

    #: UserEvent: a caller is waiting (sent once per call by acd-announce)
    call_waiting_event: str = "AcdCallWaiting"
    #: UserEvent: a caller reached acd-announce, before Answer() and the announcement
    #: (headers Number, Uniqueid); one who hangs up before call_waiting_event gets a
    #: record of its own. An older dialplan without it: no such record, nothing else
    #: changes
    arrival_event: str = "AcdCallArrived"
    #: UserEvent: acd-connect starts dialling an agent
    connecting_event: str = "AcdConnecting"
    #: UserEvent: the agent's Dial ended (header DialStatus)
    dial_end_event: str = "AcdDialEnd"
    #: UserEvents of the agents' feature codes *71, *72, *73, *74
    agent_login_event: str = "AcdAgentLogin"
    agent_logout_event: str = "AcdAgentLogout"
    agent_pause_event: str = "AcdAgentPause"
    agent_ready_event: str = "AcdAgentReady"
    #: sent by the transfer feature codes: header Target (a queue), optional Agent
    transfer_event: str = "AcdTransfer"
    #: overflow to a partner SAS: the router sets the partner's dial string and ring
    #: time on the caller, then Redirects it to <overflow_context>,<partner name>,1
    overflow_context: str = "acd-overflow"
    partner_dial_var: str = "ACD_PARTNER_DIAL"
    partner_ring_var: str = "ACD_PARTNER_RING"
    #: warm transfers: the router Originates a call from <warm_context>,<agent id>,1 to
    #: the target agent; when it is answered that context sends warm_answered_event
    #: (headers Agent, Call) and waits; the router sets warm_peer_var (the answered
    #: channel) on the caller and Redirects it to <warm_bridge_context>,<agent id>,1
    warm_context: str = "acd-warm"
    #: warm transfers: the context whose Bridge() joins the caller to the answered agent
    warm_bridge_context: str = "acd-warm-bridge"
    #: warm transfers: UserEvent sent by [acd-warm] when the target agent answers
    warm_answered_event: str = "AcdWarmAnswered"
    #: warm transfers: caller variable naming the answered agent's channel to bridge to
    warm_peer_var: str = "ACD_WARM_PEER"
    #: warm transfers: variable of the Originate'd agent channel naming the call
    warm_call_var: str = "ACD_WARM_CALL"
    #: sent by the overflow context before and after Dial: headers Partner, DialStatus
    overflow_trying_event: str = "AcdOverflowTrying"
    overflow_end_event: str = "AcdOverflowEnd"
    #: context the router Redirects a caller to, to ring an agent
    connect_context: str = "acd-connect"
    #: where the router sends a caller back to wait (after a ring time-out it forces)
    holding_context: str = "holding"
    holding_exten: str = "s"
    #: channel variables the router sets on the caller before the Redirect
    agent_var: str = "ACD_AGENT"
    dial_var: str = "ACD_DIAL"
    ring_var: str = "ACD_RING"
    #: channel variables the dialplan sets on the caller (read back at resync)
    number_var: str = "ACD_NUMBER"
    arrived_var: str = "ACD_ARRIVED"
    priority_var: str = "ACD_PRIORITY"
    #: global variable the router refreshes with Asterisk's time (fail-open heartbeat)
    heartbeat_var: str = "ACD_HEARTBEAT"
    #: context [holding] sends callers to when the heartbeat is stale (fail open)
    failopen_context: str = "acd-failopen"
    #: the native Asterisk queue of the front-office phones used there
    failopen_queue: str = DIALPLAN.failopen_queue


def _default_numbers() -> dict[str, NumberConfig]:
    return {"15": NumberConfig(queue=FRONT_OFFICE, label="15")}


class Config(Strict, frozen=True):
    site: SiteConfig
    ami: AmiConfig = msgspec.field(default_factory=AmiConfig)
    http: HttpConfig = msgspec.field(default_factory=HttpConfig)
    api: ApiConfig = msgspec.field(default_factory=ApiConfig)
    redis: RedisConfig | None = None
    leader: LeaderConfig | None = None
    routing: RoutingConfig = msgspec.field(default_factory=RoutingConfig)
    dialplan: DialplanNames = msgspec.field(default_factory=DialplanNames)
    skills: dict[SkillName, SkillConfig] = msgspec.field(default_factory=dict)
    numbers: dict[str, NumberConfig] = msgspec.field(default_factory=_default_numbers)
    agents: list[AgentConfig] = msgspec.field(default_factory=list)
    hours: HoursConfig = msgspec.field(default_factory=HoursConfig)
    transfers: TransferConfig = msgspec.field(default_factory=TransferConfig)
    partners: list[PartnerConfig] = msgspec.field(default_factory=list)
    #: overflow rules per queue
    overflow: dict[SkillName, OverflowRule] = msgspec.field(default_factory=dict)

    def skill_names(self) -> list[str]:
        """Standard skills first, then the site's extra ones, in file order."""
        extra = [s for s in self.skills if s not in STANDARD_SKILLS]
        return [*STANDARD_SKILLS, *extra]

    def skill(self, name: str) -> SkillConfig:
        return self.skills.get(name) or SkillConfig()

    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.site.timezone)


def with_routing(config: Config, **changes: Any) -> Config:
    """``config`` with ``[routing]`` keys changed (a comparison's variants, a test's
    room, a simulation's margins)."""
    return msgspec.structs.replace(
        config, routing=msgspec.structs.replace(config.routing, **changes))


def namespace_of(config: Config) -> str:
    """The Redis key namespace of a site: ``[redis] namespace``, or the site name
    slugified (lower case ASCII letters, digits and dashes)."""
    if config.redis is not None and config.redis.namespace:
        return config.redis.namespace
    return slugify(config.site.name)


def slugify(text: str) -> str:
    """``"SAS 59 Nord — CRRA Lille"`` → ``"sas-59-nord-crra-lille"``."""
    import unicodedata

    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:64].rstrip("-") or "site"


def is_front_office(skills: Mapping[str, int]) -> bool:
    """An agent whose phone is a member of the fail-open queue (``[dialplan]
    failopen_queue``): the front office (ARM_N1) at level 1, that answers first when
    the router is silent."""
    return skills.get(FRONT_OFFICE) == 1
