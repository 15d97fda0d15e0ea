"""Stopping a request: the exception that ends one, and the check of a request nobody can stop."""


class Cancelled(Exception):
    """The request was stopped (the user pressed Stop) while its media was being read."""


def never() -> bool:
    """The ``cancelled`` of a request nobody can stop."""
    return False
