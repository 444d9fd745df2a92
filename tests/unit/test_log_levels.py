"""Our INFO lines reach a Lambda's log: the services' and the core's loggers are set, not left to the root's WARNING."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from matchodds.core.settings import OUR_LOGGERS, log_our_records

pytestmark = pytest.mark.unit


@pytest.fixture
def restored_levels() -> Iterator[None]:
    before = {name: logging.getLogger(name).level for name in OUR_LOGGERS}
    for name in OUR_LOGGERS:  # as before any handler module (which calls log_our_records) was imported
        logging.getLogger(name).setLevel(logging.NOTSET)
    yield
    for name, level in before.items():
        logging.getLogger(name).setLevel(level)


def test_a_pipelines_info_line_passes_a_root_logger_at_warning(restored_levels: None) -> None:
    root = logging.getLogger()
    previous = root.level
    root.setLevel(logging.WARNING)  # as Lambda's Python runtime leaves it
    try:
        assert not logging.getLogger("services.precompute.pipeline").isEnabledFor(logging.INFO)
        log_our_records({})
        assert logging.getLogger("services.precompute.pipeline").isEnabledFor(logging.INFO)
        assert logging.getLogger("matchodds.fit_trigger").isEnabledFor(logging.INFO)
        log_our_records({"MATCHODDS_LOG_LEVEL": "warning"})
        assert not logging.getLogger("services.pricing.pipeline").isEnabledFor(logging.INFO)
    finally:
        root.setLevel(previous)


def test_a_level_that_is_no_level_is_refused_by_name(restored_levels: None) -> None:
    with pytest.raises(RuntimeError, match="MATCHODDS_LOG_LEVEL='LOUD' is not a logging level"):
        log_our_records({"MATCHODDS_LOG_LEVEL": "loud"})
