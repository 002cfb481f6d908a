"""What a valid configuration makes the router do, said in a sentence: the lines
``acd check-config`` prints after "ok" so that a site reads its routing choices back
(today the backups rule of ``[routing]``, :mod:`acd.core.spare`)."""

from __future__ import annotations

from acd.config.schema import Config


def routing_explained(config: Config) -> list[str]:
    """One sentence per routing choice of ``config``."""
    routing = config.routing
    delays = ", ".join(
        f"{name} {config.skill(name).expansion_s[0]:g} s"
        for name in config.skill_names() if config.skill(name).expansion_s)
    if routing.backups == "fixed":
        return [f'routing: backups = "fixed": an agent holding a queue at level 2 or more '
                f"takes its calls only once they have waited the skill's expansion_s "
                f"({delays})"]
    return [f'routing: backups = "spare": an agent holding a queue at level 2 or more '
            f"takes a caller the room already handled (transferred in, given back) at "
            f"once, and a new one when their own filière can spare them (nobody waiting "
            f"there, and the free people left cover its calls expected during the loan "
            f"with a risk of {routing.spare_risk:g}, from the arrivals of the last "
            f"{routing.demand_window_s:g} s), else once the call has waited the skill's "
            f"expansion_s ({delays})"]
