"""Observation totals. Importing the package installs the coverage flush hook."""

from fieldscope.totals import coverage as _coverage  # noqa: F401
