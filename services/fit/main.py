"""The fit's one entry point: the container's command (`python -m services.fit`) and `matchodds fit`.

Reads results (local files, or the bucket's results/<competition>/ prefix), fits, and writes the
posterior as a new object posteriors/<competition>/<version>.npz, never overwriting one. Exit codes:
0 published, 2 unusable results, 3 the quality gate refused to publish (the current odds stay).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
from botocore.exceptions import ClientError

from adapters.odds_table import OddsTable
from adapters.posterior_store import publish, read_bytes, warm_start_key
from matchodds.core.adaptation import Adaptation, posterior_adaptation
from matchodds.core.keys import (
    DEFAULT_COMPETITION,
    ContractError,
    fixtures_prefix,
    parse_fixtures_key,
    parse_results_key,
    results_prefix,
)
from matchodds.core.posterior import decode_posterior, encode_posterior
from matchodds.core.refits import FIT_HOLDER_VARIABLE, FIT_LEDGER_VARIABLE, FIT_MAX_ROUNDS
from matchodds.core.results import (
    MAX_FILE_BYTES,
    Fixture,
    Match,
    ResultsError,
    check_file_size,
    combine_results,
    decode,
    parse_any_fixtures,
    parse_results,
    read_fixtures_file,
    read_results,
)
from matchodds.core.settings import Settings
from services.fit import configure_jax
from services.fit.inference import QualityGate, QualityGateError, fit_posterior, sampler_for
from services.fit.lease import FitLease
from services.fit.model import DEFAULT_MODEL, MODELS

if TYPE_CHECKING:  # the stubs are a dev dependency, not the container's
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

logger = logging.getLogger("matchodds.fit")
EXIT_BAD_RESULTS, EXIT_GATE = 2, 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    env = os.environ
    parser.add_argument(
        "results",
        nargs="*",
        type=Path,
        help="football-data CSV files; default: every file under the bucket's results/<competition>/",
    )
    parser.add_argument(
        "--fixtures",
        nargs="*",
        type=Path,
        default=None,
        help="football-data fixtures files naming the season's teams before they play; default with a bucket: "
        "every file under its fixtures/<competition>/",
    )
    parser.add_argument("--competition", default=env.get("MATCHODDS_COMPETITION", DEFAULT_COMPETITION))
    parser.add_argument(
        "--bucket", default=env.get("MATCHODDS_BUCKET"), help="where results are read and the posterior written"
    )
    parser.add_argument("--out", type=Path, help="write the posterior to this local file instead of S3")
    parser.add_argument("--model", default=env.get("MATCHODDS_MODEL", DEFAULT_MODEL), choices=sorted(MODELS))
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--warmup", type=int, help="warmup per chain (default: the model's)")
    parser.add_argument("--samples", type=int, help="kept draws per chain (default: the model's)")
    parser.add_argument(
        "--seed",
        type=int,
        default=int(env["MATCHODDS_SEED"]) if env.get("MATCHODDS_SEED") else None,
        help="random seed (recorded in the posterior); default: drawn fresh",
    )
    parser.add_argument("--min-ess", type=float, default=QualityGate.min_bulk_ess)
    parser.add_argument("--max-r-hat", type=float, default=QualityGate.max_r_hat)
    parser.add_argument(
        "--warm-from",
        type=Path,
        help="start from the sampler adaptation stored in this posterior file; default with a bucket: the "
        "competition's served posterior there (see --table)",
    )
    parser.add_argument(
        "--cold", action="store_true", help="no warm start: warm up in full, whatever earlier fits stored"
    )
    parser.add_argument(
        "--table",
        default=Settings.from_env(env, need=()).table or None,
        help="the odds table, whose pointer names the served version the warm start is taken from; without "
        "it (or a pointer) the competition's newest posterior",
    )
    parser.add_argument(
        "--ledger",
        default=env.get(FIT_LEDGER_VARIABLE),
        help="the fit ledger table: with --holder, fit again while results uploads came in (the trigger's fits)",
    )
    parser.add_argument(
        "--holder", default=env.get(FIT_HOLDER_VARIABLE), help="the lease this fit was started with (by the trigger)"
    )


def _bucket_files(s3: S3Client, bucket: str, prefix: str, is_file: Callable[[str], bool]) -> list[tuple[str, int]]:
    """(key, size) of every object under a prefix that the key rule takes for one of its files, in key order.

    The rule (matchodds.core.keys) is the one the fit trigger, pricing and the bucket's notifications apply,
    so the fit reads exactly the files whose upload started it: a key in a sub-folder or ending `.CSV` is
    named in a warning and left unread."""
    files = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            if is_file(item["Key"]):
                files.append((item["Key"], item["Size"]))
            else:
                logger.warning(
                    "s3://%s/%s is not read: not a file name the key rule takes (%s)",
                    bucket,
                    item["Key"],
                    "<name>.csv directly under the prefix, letters, digits, . _ -",
                )
    return sorted(files)


def _read_csv(s3: S3Client, bucket: str, key: str, size: int) -> tuple[str, str]:
    """(source, text) of one file, its size checked before any byte is read (ResultsError when too large)."""
    source = f"s3://{bucket}/{key}"
    check_file_size(source, size)
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read(MAX_FILE_BYTES + 1)
    check_file_size(source, len(body))  # replaced by a larger object since it was listed
    return source, decode(body)


def load_results(paths: Sequence[Path], bucket: str | None, competition: str, s3: S3Client | None) -> list[Match]:
    """Matches from local files, or from every results file under the bucket's results prefix."""
    if paths:
        return read_results(paths)
    if not bucket or s3 is None:
        raise ResultsError("(no input)", None, "give results files or a bucket (--bucket or MATCHODDS_BUCKET)")
    files = _bucket_files(s3, bucket, results_prefix(competition), lambda key: parse_results_key(key) == competition)
    if not files:
        raise ResultsError(f"s3://{bucket}/{results_prefix(competition)}", None, "no results files under this prefix")
    return combine_results(
        parse_results(text, source) for source, text in (_read_csv(s3, bucket, *file) for file in files)
    )


def _is_fixtures_of(competition: str) -> Callable[[str], bool]:
    return lambda key: (parse_fixtures_key(key) or ("", ""))[0] == competition


def load_fixtures(
    paths: Sequence[Path] | None, bucket: str | None, competition: str, s3: S3Client | None
) -> list[Fixture]:
    """The competition's fixtures from local files, or from the bucket's fixtures prefix (none is fine)."""
    if paths is not None:
        files = [read_fixtures_file(path) for path in paths]
    elif bucket and s3 is not None:
        # Users drop files under fixtures/ to have them priced; one the pricing Lambda refuses (it writes
        # its .error.json beside it) only costs the fit that file's names, never the week's odds.
        files = []
        for key, size in _bucket_files(s3, bucket, fixtures_prefix(competition), _is_fixtures_of(competition)):
            try:
                source, text = _read_csv(s3, bucket, key, size)
                files.append(parse_any_fixtures(text, source, competition))  # plain home,away too
            except ResultsError as error:
                logger.warning("fixtures file skipped, its teams not used for the roster: %s", error)
    else:
        files = []
    return [fixture for file in files for fixture in file.fixtures if fixture.competition == competition]


def previous_adaptation(
    path: Path | None,
    bucket: str | None,
    competition: str,
    model: str,
    s3: S3Client | None,
    table: str | None = None,
    dynamodb: DynamoDBClient | None = None,
) -> Adaptation | None:
    """The sampler adaptation of the competition's last fit (a local file, or the served posterior in the
    bucket: warm_start_key), or None: no earlier fit, one of another model, or one that cannot be read,
    which costs this fit only its warm start (logged), never the fit."""
    try:
        if path is not None:
            source, blob = str(path), path.read_bytes()
        elif bucket and s3 is not None:
            odds = OddsTable(table, dynamodb) if table and dynamodb is not None else None
            key = warm_start_key(s3, bucket, competition, odds)
            if key is None:
                logger.info("no earlier posterior of %s: cold warmup", competition)
                return None
            source, blob = f"s3://{bucket}/{key}", read_bytes(s3, bucket, key)
        else:
            return None
        posterior = decode_posterior(blob)
        adaptation = posterior_adaptation(posterior)
    except (ContractError, OSError, ClientError) as error:
        logger.warning("the last posterior's adaptation is not usable, warming up cold: %s", error)
        return None
    if adaptation is None or posterior.competition != competition or adaptation.model != model:
        logger.info("%s holds no adaptation of %s for %s: cold warmup", source, model, competition)
        return None
    logger.info("warm start from %s", source)
    return adaptation


def run(args: argparse.Namespace) -> int:
    """One fit; a fit the trigger started (--ledger and --holder) fits again while uploads came in meanwhile."""
    if not (args.ledger and args.holder and args.bucket and not args.out):
        return fit_once(args)
    lease = FitLease(args.ledger, args.competition, args.holder, boto3.client("dynamodb"))
    seen = lease.begin()
    if seen is None:
        return fit_once(args)
    for round_number in range(1, FIT_MAX_ROUNDS + 1):
        try:
            status = fit_once(args)
        except BaseException:
            lease.give_up()
            raise
        if status != 0:
            lease.give_up()
            return status
        pending = lease.finish(seen)
        if pending is None:
            return 0
        logger.info(
            "%d more results upload(s) of %s came during fit %d: fitting once more with them",
            pending - seen,
            args.competition,
            round_number,
        )
        seen = pending
    lease.give_up()
    logger.warning(
        "%s: uploads kept coming for %d fits; stopping here, the next upload starts a new fit",
        args.competition,
        FIT_MAX_ROUNDS,
    )
    return 0


def fit_once(args: argparse.Namespace) -> int:
    """Read the results, fit, and publish one posterior."""
    s3 = boto3.client("s3") if args.bucket else None
    if not args.results and not args.bucket:
        logger.error("nothing to read: give results files or a bucket")
        return EXIT_BAD_RESULTS
    # Refused before the fit, not after it: with neither, the posterior would have nowhere to go.
    if not args.out and s3 is None:
        logger.error("nowhere to write the posterior: give --out or a bucket (--bucket or MATCHODDS_BUCKET)")
        return EXIT_BAD_RESULTS
    try:
        matches = load_results(args.results, args.bucket, args.competition, s3)
        fixtures = load_fixtures(args.fixtures, args.bucket, args.competition, s3)
    except ResultsError as error:
        logger.error("results refused, nothing fitted: %s", error)
        return EXIT_BAD_RESULTS
    matches = [match for match in matches if match.competition == args.competition]
    if not matches:
        logger.error("no %s matches in the results given", args.competition)
        return EXIT_BAD_RESULTS
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "little")
    sampler = sampler_for(MODELS[args.model], args.chains, args.warmup, args.samples, seed)
    gate = QualityGate(max_r_hat=args.max_r_hat, min_bulk_ess=args.min_ess)
    dynamodb = boto3.client("dynamodb") if args.table and s3 is not None and args.warm_from is None else None
    previous = (
        None
        if args.cold
        else previous_adaptation(args.warm_from, args.bucket, args.competition, args.model, s3, args.table, dynamodb)
    )
    try:
        posterior = fit_posterior(
            matches, MODELS[args.model], args.competition, sampler, gate, fixtures=fixtures, previous=previous
        )
    except QualityGateError as error:
        logger.error("%s; nothing published, the current odds stay", error)
        return EXIT_GATE
    try:
        if args.out or s3 is None:  # no client means --out (refused above otherwise)
            args.out.write_bytes(encode_posterior(posterior))
            where = str(args.out)
        else:
            where = publish(posterior, args.bucket, s3)
    except ContractError as error:  # the contract's plausibility checks, which precompute applies too
        logger.error("the fitted posterior is not publishable: %s; nothing published, the current odds stay", error)
        return EXIT_GATE
    diagnostics = posterior.meta["diagnostics"]
    logger.info(
        "published %s (max r_hat %.4f, min bulk ESS %.0f, %d divergences)",
        where,
        diagnostics["max_r_hat"],
        diagnostics["min_bulk_ess"],
        diagnostics["divergences"],
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    configure_jax()  # splits the CPU into devices before JAX computes
    parser = argparse.ArgumentParser(prog="matchodds fit", description=__doc__.splitlines()[0])
    add_arguments(parser)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    logging.getLogger("botocore").setLevel(logging.WARNING)  # not where each client found its credentials
    return run(parser.parse_args(argv))
