"""Gauges computed from the engine's state when ``/metrics`` is scraped: queues,
agents, partners, the AMI link, leadership and what the router refused or survived
(:class:`~acd.metrics.collectors.RouterMetrics` counts the facts; this reads the
state)."""

from __future__ import annotations

from collections import Counter as Counter_
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from acd.core.model import AgentState

if TYPE_CHECKING:
    from acd.core.ports import MetricsHost
    from acd.metrics.collectors import RouterMetrics


class EngineCollector(Collector):
    """Gauges computed from the engine's state when ``/metrics`` is scraped."""

    def __init__(self, metrics: RouterMetrics) -> None:
        self._metrics = metrics
        self._events_base = 0
        self._events_protocol: Any = None

    def collect(self) -> Iterable[Metric]:
        metrics = self._metrics
        router = metrics.router
        now = router.clock()
        yield from self._queues(metrics, now)
        yield from self._agents(metrics)
        yield from self._partners(metrics, now)
        yield from self._health(router)

    def _queues(self, metrics: RouterMetrics, now: float) -> Iterator[Metric]:
        engine = metrics.router.engine
        waiting = GaugeMetricFamily("acd_queue_waiting_calls", "Calls waiting in the queue "
                                    "(not yet offered to an agent).", labels=["queue"])
        oldest = GaugeMetricFamily("acd_queue_oldest_wait_seconds", "How long the call "
                                   "waiting longest in the queue has waited there.",
                                   labels=["queue"])
        estimated = GaugeMetricFamily("acd_queue_estimated_wait_seconds", "Wait a call "
                                      "entering the queue now can expect (waiting calls × "
                                      "mean handling time / working agents).",
                                      labels=["queue"])
        bascule = GaugeMetricFamily("acd_bascule_active", "1 while calls of the queue are "
                                    "switched to partner SAS (by the queue's or the whole "
                                    "site's bascule).", labels=["queue"])
        share = GaugeMetricFamily("acd_bascule_share", "Share of the queue's calls switched "
                                  "to partner SAS (0 to 1).", labels=["queue"])
        shares = {queue: b.share for queue, b in engine.bascules.items()}
        site_share = shares.get("*", 0.0)
        names = list(engine.queues)
        names += [q for q in shares if q != "*" and q not in engine.queues]
        for name in names:
            queue = engine.queues.get(name)
            count = len(queue) if queue is not None else 0
            head = queue.oldest() if queue is not None and count else None
            waiting.add_metric([name], count)
            oldest.add_metric([name], max(0.0, now - head.enqueued_at) if head else 0.0)
            estimated.add_metric([name], engine.estimated_wait(name))
            switched = max(shares.get(name, 0.0), site_share)
            bascule.add_metric([name], 1.0 if switched > 0 else 0.0)
            share.add_metric([name], switched)
        yield from (waiting, oldest, estimated, bascule, share)
        active = GaugeMetricFamily("acd_calls_active", "Calls the router follows now "
                                   "(waiting, ringing, talking).")
        active.add_metric([], len(engine.calls))
        yield active

    def _agents(self, metrics: RouterMetrics) -> Iterator[Metric]:
        engine = metrics.router.engine
        skills = list(metrics.config.skill_names())
        # the state member, not its .value, and Counter's C loop: every agent is read
        counts = Counter_((skill, agent.state) for agent in engine.agents.values()
                          for skill in agent.skills)
        skills += [skill for skill, _ in counts if skill not in skills]
        agents = GaugeMetricFamily("acd_agents", "Agents holding the skill (any level), "
                                   "by state; logged in = every state but logged_out.",
                                   labels=["skill", "state"])
        open_ = GaugeMetricFamily("acd_skill_open", "1 when the skill is expected to be "
                                  "staffed now.", labels=["skill"])
        for skill in dict.fromkeys(skills):
            for member in AgentState:
                agents.add_metric([skill, member.value], counts.get((skill, member), 0))
            open_.add_metric([skill], 1.0 if metrics.skill_open(skill) else 0.0)
        yield agents
        yield open_

    def _partners(self, metrics: RouterMetrics, now: float) -> Iterator[Metric]:
        engine = metrics.router.engine
        up = GaugeMetricFamily("acd_partner_up", "0 while a partner SAS is held down after "
                               "a failed or unreachable overflow (for its down_for_s).",
                               labels=["partner"])
        for partner in metrics.config.partners:
            up.add_metric([partner.name], 1.0 if engine.partner_up(partner.name, now) else 0.0)
        yield up

    def _health(self, router: MetricsHost) -> Iterator[Metric]:
        ami = router.ami
        connected = GaugeMetricFamily("acd_ami_connected", "1 while the AMI session is up "
                                      "and resynchronised (as /healthz).")
        connected.add_metric([], 1.0 if ami is not None and ami.connected
                             and router.engine.link_up else 0.0)
        events = CounterMetricFamily("acd_ami_events", "AMI events received.")
        events.add_metric([], self._events_total(router))
        reconnects = CounterMetricFamily("acd_ami_reconnects", "AMI reconnection attempts.")
        reconnects.add_metric([], ami.reconnects if ami is not None else 0)
        lag = GaugeMetricFamily("acd_event_loop_lag_seconds", "Worst lateness of the event "
                                "loop over its last measurements (one every 0.5 s, 5 s).")
        lags = self._metrics.loop_lags
        lag.add_metric([], max(lags) if lags else 0.0)
        leader = GaugeMetricFamily("acd_leader", "1 while this router may send actions "
                                   "(alone, or the leader of a pair); 0 on a standby.")
        leader.add_metric([], 0.0 if router.role == "standby" else 1.0)
        fenced = CounterMetricFamily("acd_actions_fenced", "Actions not sent because this "
                                     "router was not, or no longer, the leader.")
        fenced.add_metric([], router.actions_fenced)
        yield from (connected, events, reconnects, lag, leader, fenced)
        yield from self._hardening(router)

    def _hardening(self, router: MetricsHost) -> Iterator[Metric]:
        """What the router refused or survived: dropped frames, inputs that raised,
        background tasks restarted, HTTP connections turned away."""
        from acd.ami.drops import REASONS

        dropped = CounterMetricFamily(
            "acd_ami_frames_dropped", "AMI frames dropped, by reason (oversized, banner, "
            "garbage, undecodable, before_login); logged once per episode.",
            labels=["reason"])
        counts = router.ami.drops.counts if router.ami is not None else {}
        for reason in REASONS:
            dropped.add_metric([reason], counts.get(reason, 0))
        errors = CounterMetricFamily(
            "acd_input_errors", "Inputs whose handling raised (logged input_failed, then "
            "skipped), by kind (ami_event, tick, resync, intent, action, fact_listener, "
            "ami_response, unsendable; observed_agent: a phone outside the config the "
            "engine refused to follow).", labels=["kind"])
        refused = self._metrics.refused_inputs
        for kind in router.input_kinds:
            errors.add_metric([kind], router.input_errors.get(kind, 0) + refused.get(kind, 0))
        skews = CounterMetricFamily(
            "acd_clock_skew_events", "Disagreements between Asterisk's clock and the "
            "router's (a step, a skew, a stray timestamp: asterisk) or steps of the router "
            "host's clock (router), each counted once and logged clock_skew; none moves a "
            "timer, a wait or a record.", labels=["kind"])
        for kind, count in router.clock_skews.items():
            skews.add_metric([kind], count)
        restarts = CounterMetricFamily(
            "acd_task_restarts", "Background tasks restarted after a failure (logged "
            "task_failed), by task.", labels=["task"])
        for name, count in router.task_restarts.items():
            restarts.add_metric([name], count)
        yield from (dropped, errors, skews, restarts)
        for extra in router.metric_sources:
            yield from extra()

    def _events_total(self, router: MetricsHost) -> int:
        """Events over every AMI session: a session's protocol counts its own events, so
        the count of the previous one is carried over when a new one starts."""
        protocol = router.ami.protocol if router.ami is not None else None
        if protocol is not self._events_protocol:
            if self._events_protocol is not None:
                self._events_base += self._events_protocol.events_received
            self._events_protocol = protocol
        current: int = protocol.events_received if protocol is not None else 0
        return self._events_base + current
