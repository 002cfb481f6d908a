"""A discrete-event model of Asterisk's app_queue, to compare the router against on
the same simulated day (:mod:`acd.tools.appqueue.model` says what it models)."""

from acd.tools.appqueue.configurations import appqueue_configurations
from acd.tools.appqueue.day import AppQueueDay, play_appqueue_day
from acd.tools.appqueue.model import AppQueueModel, Ring
from acd.tools.appqueue.options import STRATEGIES, AppQueueOptions, QueueOptions
from acd.tools.appqueue.rules import (
    PenaltyChange,
    expansion_rules,
    parse_penaltychange,
    parse_queuerules,
)

__all__ = ["STRATEGIES", "AppQueueDay", "AppQueueModel", "AppQueueOptions", "PenaltyChange",
           "QueueOptions", "Ring", "appqueue_configurations", "expansion_rules",
           "parse_penaltychange", "parse_queuerules", "play_appqueue_day"]
