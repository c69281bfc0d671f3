"""Fixtures the locale audit borrows: the web app on a test server."""

from tests.web.conftest import make_client

__all__ = ["make_client"]
