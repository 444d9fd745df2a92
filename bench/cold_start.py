"""Cold start of the query Lambda: a fresh interpreter imports its handler and answers one request.

    AWS_ENDPOINT_URL=<moto> MATCHODDS_TABLE=matchodds-odds MATCHODDS_BUCKET=matchodds-local \
        python -m bench.cold_start --home ARS --away AVL

Nothing but `sys` and `time` is imported before the handler, so that the import is timed from an
interpreter that has loaded no more than Lambda's Python runtime has before the handler module.
"""

import sys
import time

started, started_cpu = time.perf_counter(), time.process_time()
from services.query import handler  # noqa: E402  (the measured import)

imported, imported_cpu = time.perf_counter(), time.process_time()


def main() -> int:
    import argparse

    from bench.measure import report_result
    from bench.query import HEADERS
    from entry.local.http_bridge import http_api_event
    from entry.local.lambda_context import LambdaContext

    parser = argparse.ArgumentParser(prog="python -m bench.cold_start", description=__doc__.splitlines()[0])
    parser.add_argument("--home", required=True)
    parser.add_argument("--away", required=True)
    args = parser.parse_args()
    event = http_api_event("GET", f"/odds/{args.home}/{args.away}", HEADERS, b"", "127.0.0.1")
    asked = time.perf_counter()
    response = handler.lambda_handler(event, LambdaContext("matchodds-query"))
    answered = time.perf_counter()
    report_result(
        {
            "import_s": imported - started,
            # CPU time of the import alone: what it costs whatever else shares the machine's cores.
            "import_cpu_s": imported_cpu - started_cpu,
            "first_request_s": answered - asked,
            "status": response["statusCode"],
            "modules_after_import": MODULES_AFTER_IMPORT,
        }
    )
    return 0


MODULES_AFTER_IMPORT = len(sys.modules)

if __name__ == "__main__":
    sys.exit(main())
