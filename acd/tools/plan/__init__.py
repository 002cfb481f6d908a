"""``acd plan``: staffing from the engine's own routing (see docs/plan.md)."""
