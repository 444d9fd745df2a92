"""matchodds: football match odds from a Bayesian team-strength model."""
