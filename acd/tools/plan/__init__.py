"""``acd plan``: the staffing a site needs, from the engine's own routing."""
