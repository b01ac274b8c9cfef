"""Which network addresses a site import may fetch from, checked after DNS resolution.

    policy = AddressPolicy.parse(allow="10.20.0.0/16", deny="10.20.9.0/24")
    address = policy.resolve("intranet.example", 443)  # the checked IP to connect to

Loopback, link-local (cloud metadata services live there), unspecified and the other known
metadata addresses are refused unless `allow` names them: an import must not read another
service on the host. Between an operator's own `allow` and `deny` networks the most specific
one decides (a tie denies), so `deny=0.0.0.0/0,::/0` with `allow=10.20.0.0/16` fetches from
that network only. Numeric host forms (`127.1`, `2130706433`, `[::1]`) resolve to the address
they mean before the check, so they cannot slip past it.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

REFUSED_BY_DEFAULT: tuple[Network, ...] = tuple(ipaddress.ip_network(n) for n in (
    "127.0.0.0/8", "::1/128",  # loopback
    "169.254.0.0/16", "fe80::/10",  # link-local: 169.254.169.254 is most clouds' metadata
    "0.0.0.0/8", "::/128",  # unspecified: 0.0.0.0 reaches the host itself
    "100.100.100.200/32",  # Alibaba Cloud's metadata service
    "fd00:ec2::254/128",  # AWS's metadata service over IPv6
))


class AddressRefused(ValueError):
    """The host resolves to an address the import may not fetch from."""


def networks(text: str) -> tuple[Network, ...]:
    """Parse comma-separated networks (`10.0.0.0/8, ::1`); raise ValueError naming a bad one."""
    found = []
    for item in (part.strip() for part in text.split(",")):
        if item:
            try:
                found.append(ipaddress.ip_network(item, strict=False))
            except ValueError as exc:
                raise ValueError(f"not a network: {item!r}") from exc
    return tuple(found)


def _plain(address: Address) -> Address:
    """Return the IPv4 address an IPv4-mapped IPv6 address (`::ffff:127.0.0.1`) carries."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _longest(address: Address, among: tuple[Network, ...]) -> int:
    """Return the prefix length of the most specific network holding `address` (-1: none)."""
    return max((n.prefixlen for n in among if n.version == address.version and address in n),
               default=-1)


@dataclass(frozen=True)
class AddressPolicy:
    """The operator's allowed and denied networks, over the built-in refusals."""

    allow: tuple[Network, ...] = ()
    deny: tuple[Network, ...] = ()

    @classmethod
    def parse(cls, allow: str = "", deny: str = "") -> AddressPolicy:
        """Build a policy from the comma-separated settings."""
        return cls(networks(allow), networks(deny))

    def permits(self, address: Address) -> bool:
        """Tell whether an import may connect to `address`."""
        address = _plain(address)
        allowed, denied = _longest(address, self.allow), _longest(address, self.deny)
        if denied >= 0 or allowed >= 0:
            return allowed > denied
        return _longest(address, REFUSED_BY_DEFAULT) < 0

    def resolve(self, host: str, port: int) -> str:
        """Return the address to connect to for `host`; raise AddressRefused if any is refused.

        Every address the name resolves to must be permitted, so a name cannot pair a public
        address with a private one and win on the second try.
        """
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise OSError(f"cannot resolve {host}: {exc}") from exc
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
        refused = [a for a in addresses if not self.permits(a)]
        if refused or not addresses:
            raise AddressRefused(f"{host} resolves to {refused[0] if refused else 'nothing'}, "
                                 "an address imports may not fetch from (CITEQA_IMPORT_ALLOW "
                                 "allows it)")
        return str(addresses[0])
