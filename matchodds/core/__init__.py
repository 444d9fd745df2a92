"""The domain core: results, teams, rosters, the score grid and its markets, the contracts, metrics.

No AWS SDK and no JAX here (import-linter checks it); services adapt it to their IO.
"""
