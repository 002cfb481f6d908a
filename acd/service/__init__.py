"""The running service: the router driver, its background parts, their one composition
(:mod:`acd.service.build`) and ``acd run`` (:mod:`acd.service.main`)."""
