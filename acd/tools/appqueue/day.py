"""A scenario's day played by the app_queue model, as the fast day plays it with the
router (:mod:`acd.tools.fastday`): the same seeded timeline of arrivals and staffing
(:func:`acd.tools.simulate.traffic.plan`), the same agents' behaviour
(:func:`acd.tools.simulate.agents.behaviour_for`) drawn per caller and offer with the same
seeds, the same run: to the scenario's end, then at most ``drain_s`` more for the
calls in progress. A scenario's partner changes, bascules and chaos faults are not
played (app_queue has no partner overflow; there is no router to break).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import msgspec

from acd.config import Config
from acd.core.records import CallRecord
from acd.tools.appqueue.model import AppQueueModel
from acd.tools.appqueue.options import AppQueueOptions
from acd.tools.simulate.agents import behaviour_for
from acd.tools.simulate.scenario import Scenario, StaffingStep
from acd.tools.simulate.traffic import Planned, plan, scenario_start


def play_appqueue_day(config: Config, scenario: Scenario, *, seed: int | None = None,
                      staffing: Sequence[StaffingStep] | None = None,
                      options: AppQueueOptions | None = None) -> list[CallRecord]:
    """The call records of ``scenario``'s day on the site ``config`` in a room of
    native queues set up as ``options`` says (app_queue's defaults if None);
    ``staffing`` replaces the scenario's own (agents logged in per primary skill from
    each time of day on)."""
    if staffing is not None:
        scenario = msgspec.structs.replace(scenario, staffing=list(staffing))
    seed = scenario.seed if seed is None else seed
    start = scenario_start(scenario, config.zone())
    model = AppQueueModel(config, options or AppQueueOptions(),
                          behaviour=behaviour_for(config, scenario), seed=seed, start=start)
    for item in plan(scenario, config, seed):
        model.agenda.at(item.at, _Apply(model, item))
    end = start + scenario.duration_s
    model.run(end + scenario.drain_s)
    return model.records()


@dataclass(frozen=True)
class _Apply:
    """One planned item, done at its time."""

    model: AppQueueModel
    item: Planned

    def __call__(self) -> None:
        model, item = self.model, self.item
        if item.kind == "call" and item.call is not None:
            call = item.call
            model.place_call(call.number, caller_name=call.caller_name,
                             patience_s=call.patience_s, priority=call.priority)
        elif item.agent is not None:
            model.feature(item.agent, item.kind)


@dataclass(frozen=True)
class AppQueueDay:
    """One day to play with the model, as a value a worker process can be sent
    (beside :class:`acd.tools.fastday.DayRequest` for the router)."""

    config: Config
    scenario: Scenario
    seed: int
    options: AppQueueOptions = field(default_factory=AppQueueOptions)
    staffing: Sequence[StaffingStep] | None = None

    def play(self) -> list[CallRecord]:
        return play_appqueue_day(self.config, self.scenario, seed=self.seed,
                                 staffing=self.staffing, options=self.options)
