"""Trusting a private endpoint's certificate (an emulator with ``--tls``, a corporate proxy)
for this service alone, instead of process-wide through ``SSL_CERT_FILE``."""

from __future__ import annotations

import os
import ssl
from pathlib import Path
from typing import Union

from pipecat_gemini_live.errors import ConfigurationError

# An ``ssl.SSLContext``, or the path of a PEM file of CA certificates to trust.
TrustedCertificates = Union[ssl.SSLContext, str, "os.PathLike[str]", None]


def tls_context(trusted: TrustedCertificates, url: str) -> ssl.SSLContext | None:
    """The context for ``wss://`` connections to ``url``; ``None`` trusts the system's CAs."""
    if trusted is None:
        return None
    if not url.startswith("wss://"):
        raise ConfigurationError(
            f"ssl= was given, but {url.split('?', 1)[0]} is not a TLS (wss://) endpoint; "
            "drop ssl=, or use an https:// or wss:// base_url."
        )
    if isinstance(trusted, ssl.SSLContext):
        return trusted
    path = Path(trusted)
    if not path.is_file():
        raise ConfigurationError(
            f"ssl={str(trusted)!r}: no such file. Pass the path of a PEM file holding the CA "
            "certificate(s) to trust (for the emulator: the cert.pem it printed), or an "
            "ssl.SSLContext."
        )
    try:
        return ssl.create_default_context(cafile=str(path))
    except ssl.SSLError as error:
        raise ConfigurationError(
            f"ssl={str(trusted)!r} is not a PEM file of CA certificates ({error})."
        ) from None


def untrusted_hint(error: ssl.SSLCertVerificationError) -> str:
    reason = getattr(error, "verify_message", None) or str(error)
    return (
        f"The server's certificate is not trusted ({reason}). Trust it for this service with "
        "ssl='path/to/ca.pem' (or an ssl.SSLContext); for the bundled emulator started with "
        "--tls, that is the cert.pem it printed."
    )


def certificate_error(error: BaseException) -> ssl.SSLCertVerificationError | None:
    """The certificate refusal behind an HTTP client's error (aiohttp and httpx wrap it)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            return current
        wrapped = getattr(current, "certificate_error", None)  # aiohttp
        if isinstance(wrapped, ssl.SSLCertVerificationError):
            return wrapped
        current = current.__cause__ or current.__context__
    return None
