"""The lab: model variants, ratings, backtests and their results; not served, in no image (research/README.md)."""
