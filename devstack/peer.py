"""Which local user opened a TCP connection to one of the stack's ports, read from the kernel (Linux).

A TCP port on 127.0.0.1 is open to every user of the machine, and TCP has no peer credentials (a Unix
socket has SO_PEERCRED). But both ends of a loopback connection are sockets of this kernel, and its
socket table (/proc/net/tcp, /proc/net/tcp6) lists each end with the uid that created it: the client's
end is the row whose local address is our peer and whose remote address is us. This is what identd
answers, here without a network round trip.

Only a live socket counts: a row without an inode (the client already closed it, or a TIME_WAIT entry,
which the kernel lists as uid 0) names nobody, so a caller that hangs up before the check is not taken
for root.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from pathlib import Path

SOCKET_TABLES = (Path("/proc/net/tcp"), Path("/proc/net/tcp6"))
Endpoint = tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int]


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """A table address: each 32-bit word printed as the hex of its in-memory (native-order) value."""
    words = [int(text[i : i + 8], 16) for i in range(0, len(text), 8)]
    address = ipaddress.ip_address(struct.pack(f"={len(words)}I", *words))
    # A client on an IPv6 socket reaches 127.0.0.1 as ::ffff:127.0.0.1.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _endpoint(text: str) -> Endpoint:
    address, port = text.split(":")
    return _address(address), int(port, 16)


def _of(sockname: tuple[str, int] | tuple[str, int, int, int]) -> Endpoint:
    address = ipaddress.ip_address(sockname[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address, sockname[1]


def connection_owner(sock: socket.socket, tables: tuple[Path, ...] = SOCKET_TABLES) -> int | None:
    """The uid that holds the client's end of this accepted TCP connection, or None when no live socket of
    this machine does (closed meanwhile, not a TCP connection, or no socket table: not Linux)."""
    try:
        client, ours = _of(sock.getpeername()), _of(sock.getsockname())
    except (OSError, ValueError, IndexError):
        return None
    for table in tables:
        try:
            rows = table.read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            # sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
            fields = row.split()
            if len(fields) < 10 or fields[9] == "0" or not fields[1].endswith(f":{client[1]:04X}"):
                continue
            if _endpoint(fields[1]) == client and _endpoint(fields[2]) == ours:
                return int(fields[7])
    return None
