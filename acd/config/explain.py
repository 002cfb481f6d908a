"""What a valid configuration makes the router do, said in a sentence: the lines
``acd check-config`` prints after "ok" so that a site reads its routing choices back
(the backups rule of ``[routing]``, :mod:`acd.core.spare`, and its ring groups)."""

from __future__ import annotations

from acd.config.schema import Config


def routing_explained(config: Config) -> list[str]:
    """One sentence per routing choice of ``config``."""
    delays = ", ".join(
        f"{name} {config.skill(name).expansion_s[0]:g} s"
        for name in config.skill_names() if config.skill(name).expansion_s)
    return [_backups(config, delays), _ring_group(config)]


def _ring_group(config: Config) -> str:
    phones = config.routing.ring_phones
    if phones == 1:
        return "routing: ring_phones = 1: one phone rings at a time for a caller"
    return (f"routing: ring_phones = {phones}: a caller rings up to {phones} free agents "
            f"of the same level at once, the first to answer takes it; only agents no "
            f"other caller or warm transfer waits for")


def _backups(config: Config, delays: str) -> str:
    routing = config.routing
    if routing.backups == "fixed":
        return (f'routing: backups = "fixed": an agent holding a queue at level 2 or more '
                f"takes its calls only once they have waited the skill's expansion_s "
                f"({delays})")
    return (f'routing: backups = "spare": an agent holding a queue at level 2 or more '
            f"takes a caller the room already handled (transferred in, given back) at "
            f"once, and a new one when their own filière can spare them (nobody waiting "
            f"there, and the free people left cover its calls expected during the loan "
            f"with a risk of {routing.spare_risk:g}, from the arrivals of the last "
            f"{routing.demand_window_s:g} s), else once the call has waited the skill's "
            f"expansion_s ({delays})")
