"""Ports for a process a test starts: free now, and out of the way of everything else."""

from __future__ import annotations

import random
import socket

# Below Linux's ephemeral range (32768-60999): a port handed out by bind(("", 0)) or taken by
# an outgoing connection comes from that range, so between this probe and the process's own
# bind, the other tests' sandboxes and connections never take a port picked here.
_FIRST, _LAST = 20000, 32000


def free_port(host: str = "127.0.0.1") -> int:
    """Return a port nothing listens on, below the ephemeral range."""
    for _ in range(200):
        port = random.randint(_FIRST, _LAST)
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError:
                continue
            return port
    raise AssertionError(f"no free port between {_FIRST} and {_LAST}")
