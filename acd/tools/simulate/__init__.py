"""``acd simulate`` and ``acd demo``: a scenario played by the PBX simulator and the router.

* :mod:`.scenario` – scenario files; :mod:`.traffic` – their seeded timeline (the
  fast day, Asterisk's own queue and the planner play the same ones);
* :mod:`.agents`, :mod:`.agentreturn`, :mod:`.desk` – the simulated people: how they
  answer and talk, when a paused one is ready again, what their desktop shows;
* :mod:`.run` – the simulator and the real router over loopback AMI;
* :mod:`.command` – the commands and what they print; :mod:`.democonsole` – the demo's
  console; :mod:`.synthetic` – ``--fast``: a history of fast days;
* :mod:`.chaos` – the ``--chaos`` faults; :mod:`.chaos_run` – their run, with the
  router as its own process (:mod:`.router_process`) and a Redis of its own
  (:mod:`.redis_process`); :mod:`.chaos_judge` – the judge of that run.

Nothing is imported here, so a tool that needs only a scenario and its timeline does
not load the router.
"""
