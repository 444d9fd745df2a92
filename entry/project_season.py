"""`matchodds project`: a past season's table projected from a date, as the served model saw it then.

Fits the served model (services.fit) on the results up to --through, names the season's later matches
as its remaining fixtures, simulates the rest of the season and writes the JSON that GET /table serves
(matchodds.core.projection, matchodds.core.documents): what the page would have shown that morning.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import date

from matchodds.core.documents import posterior_provenance, season_table_document
from matchodds.core.projection import MAX_SIMULATIONS, project_posterior
from matchodds.core.results import Fixture, ResultsError, read_results, season_of

logger = logging.getLogger(__name__)
EXIT_BAD_INPUT, EXIT_GATE = 2, 3


def run(args: argparse.Namespace) -> int:
    """0 when the projection is written, 2 for unusable results, 3 when the fit fails its quality gate."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    competition = args.competition.upper()
    if not 1 <= args.simulations <= MAX_SIMULATIONS:
        print(f"matchodds project: --simulations must be 1 to {MAX_SIMULATIONS:,}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        matches = [match for match in read_results(args.results) if match.competition == competition]
    except ResultsError as error:
        print(f"matchodds project: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if not matches:
        print(f"matchodds project: no {competition} matches in the results given", file=sys.stderr)
        return EXIT_BAD_INPUT
    through: date = args.through or max(match.date for match in matches)
    seen = [match for match in matches if match.date <= through]
    if not seen:
        print(f"matchodds project: no {competition} match on or before {through} to fit on", file=sys.stderr)
        return EXIT_BAD_INPUT
    season = season_of(through)
    later = [Fixture(competition, m.date, m.home, m.away) for m in matches if m.date > through and m.season == season]

    from services.fit import configure_jax

    configure_jax()  # splits the CPU into devices before JAX computes
    from services.fit.inference import QualityGate, QualityGateError, fit_posterior, sampler_for
    from services.fit.model import DEFAULT_MODEL, MODELS

    model = MODELS[DEFAULT_MODEL]
    sampler = sampler_for(model, args.chains, args.warmup, args.samples, args.seed)
    gate = QualityGate(max_r_hat=args.max_r_hat, min_bulk_ess=args.min_ess)
    try:
        posterior = fit_posterior(seen, model, competition, sampler, gate, as_of=through, fixtures=later)
    except QualityGateError as error:
        print(f"matchodds project: {error}", file=sys.stderr)
        return EXIT_GATE
    projection = project_posterior(posterior, args.simulations, args.seed)
    if projection is None:
        print(
            f"matchodds project: the {season} league is not known on {through} (fewer teams than the season "
            "before, and no later matches naming the rest); nothing to project",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    names = dict(zip(posterior.team_codes, posterior.team_names, strict=True))
    pointer = {"version": posterior.version, **posterior_provenance(posterior.meta)}
    document = season_table_document(competition, pointer, projection.document(names))
    args.json.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    logger.info(
        "%s %s through %s: %d matches left, %d seasons simulated; wrote %s",
        competition,
        season,
        document["through"],
        document["remaining_matches"],
        document["simulations"],
        args.json,
    )
    return 0
