import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The peer address used for rate limits and logs.

    `X-Forwarded-For` is trusted only for the number of proxies the operator configured
    (`TRUSTED_PROXY_COUNT`); by default a client cannot pick its own rate-limit bucket.
    """
    proxies: int = settings.TRUSTED_PROXY_COUNT
    remote = str(request.META.get("REMOTE_ADDR", ""))
    if proxies <= 0:
        return remote
    forwarded = [
        part.strip() for part in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",") if part.strip()
    ]
    if len(forwarded) >= proxies:
        return forwarded[-proxies]
    return remote


# One IPv6 customer typically gets a /64 (or more); keying single addresses would let a client rotate
# through 2**64 buckets. IPv4 addresses are keyed whole.
IPV6_PREFIX = 64


def client_network(request: HttpRequest) -> str:
    """The rate-limit key for the client's address: the IPv4 address, or its IPv6 /64 network.

    IPv4-mapped IPv6 addresses (`::ffff:192.0.2.1`) count as the IPv4 address they carry.
    """
    address = client_ip(request)
    try:
        parsed = ipaddress.ip_address(address.split("%", 1)[0])  # drop a zone id (fe80::1%eth0)
    except ValueError:
        return address  # not an address (a broken proxy header): key it verbatim
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, IPV6_PREFIX), strict=False))
    return str(parsed)
