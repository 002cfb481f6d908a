"""The running service: the router driver, its background parts and the composition
root (:mod:`acd.service.main`, what ``acd run`` calls), the only module that imports
every adapter."""
