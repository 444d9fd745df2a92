"""The reliability tier reuses the integration tier's query API and published version over moto."""

from tests.integration.conftest import api, published  # noqa: F401  (fixtures)
