"""Documented limits of the sync protocol (docs/sync-protocol.md)."""

from __future__ import annotations

PROTOCOL = 1
MAX_BATCH_MUTATIONS = 500
MAX_BATCH_BYTES = 2 * 1024 * 1024
PULL_LIMIT_MAX = 1000
PULL_LIMIT_DEFAULT = 500
# A page stops once its changes pass this many bytes (at least one change is always sent).
PULL_PAGE_BYTES = 1024 * 1024
