"""Listening sockets, with an error that names the busy address."""

from __future__ import annotations

import errno
import socket


class PortInUseError(OSError):
    """Another process already listens on the host and port asked for."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(errno.EADDRINUSE, f"port {port} on {host} is in use")
        self.host = host
        self.port = port


class AddressNotHereError(OSError):
    """The host asked to listen on is no address of this machine (or no address at all)."""

    def __init__(self, host: str, port: int, reason: str) -> None:
        super().__init__(errno.EADDRNOTAVAIL, f"cannot listen on {host} port {port}: {reason}")
        self.host = host
        self.port = port


def is_port_in_use(error: OSError) -> bool:
    """Tell whether a bind failed because the address is taken."""
    return error.errno == errno.EADDRINUSE


def is_address_not_here(error: OSError) -> bool:
    """Tell whether a bind failed because the host is not this machine's (or unknown)."""
    return error.errno == errno.EADDRNOTAVAIL or isinstance(error, socket.gaierror)


def bind_listener(host: str, port: int) -> socket.socket:
    """Return a TCP socket bound to host:port (0 picks a free port), not yet listening."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        if is_port_in_use(error):
            raise PortInUseError(host, port) from error
        raise
    return sock
