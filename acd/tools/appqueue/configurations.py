"""The configurations of app_queue worth trying for a site, to find its best one."""

from __future__ import annotations

from acd.config import Config
from acd.tools.appqueue.options import STRATEGIES, AppQueueOptions, QueueOptions
from acd.tools.appqueue.rules import expansion_rules


def appqueue_configurations(config: Config) -> dict[str, AppQueueOptions]:
    """Every strategy × ``autofill`` off (app_queue's default) and on × without and
    with queue rules, by name (``"rrmemory"``, ``"rrmemory+autofill"``,
    ``"rrmemory+rules"``, ``"rrmemory+autofill+rules"``…).

    Without rules a backup (penalty 1 or more) is rung as soon as no better member is
    free. With rules a queue opens to its backups as the router's skill expansion
    does: the caller joins with ``QUEUE_MAX_PENALTY=0`` (level-1 agents only) and each
    of the skill's ``expansion_s`` delays adds one level (``penaltychange =>
    <seconds>,+1``, :func:`~acd.tools.appqueue.rules.expansion_rules`). Timeout and
    wrap-up stay the site's.
    """
    out: dict[str, AppQueueOptions] = {}
    for strategy in STRATEGIES:
        for autofill in (False, True):
            for rules in (False, True):
                name = strategy + ("+autofill" if autofill else "") + ("+rules" if rules else "")
                plain = QueueOptions(strategy=strategy, autofill=autofill)
                if not rules:
                    out[name] = AppQueueOptions(default=plain)
                    continue
                out[name] = AppQueueOptions(default=plain, queues={
                    skill: QueueOptions(strategy=strategy, autofill=autofill, max_penalty=0,
                                        rules=expansion_rules(config.skill(skill).expansion_s))
                    for skill in config.skill_names()})
    return out
