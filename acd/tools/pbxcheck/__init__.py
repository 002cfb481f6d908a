"""``acd check-pbx``: is this Asterisk ready for the router? (:mod:`.checks`)."""
