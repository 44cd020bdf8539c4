"""Ephemeral tokens: let a browser or phone app talk to the Live API without your API key.

Your server creates a short-lived token with the key (:func:`create_ephemeral_token`) and hands
it to the client, which connects with ``GeminiLiveService(api_key=token)`` (or any Live
client): the service then uses the constrained endpoint on ``v1alpha``, as tokens require.
A token opens ``uses`` new sessions (1 by default); resuming a session does not use it up, but
a call that has to start a fresh session (its resumption handle lost) needs another use.
"""

from __future__ import annotations

import datetime

from pipecat_gemini_live.errors import GeminiLiveError
from pipecat_gemini_live.tls import (
    TrustedCertificates,
    certificate_error,
    tls_context,
    untrusted_hint,
)


async def create_ephemeral_token(
    api_key: str | None = None,
    *,
    uses: int = 1,
    expire_after: datetime.timedelta = datetime.timedelta(minutes=30),
    new_sessions_within: datetime.timedelta = datetime.timedelta(minutes=1),
    base_url: str | None = None,
    ssl: TrustedCertificates = None,
) -> str:
    """Create a token (``auth_tokens/...``) with the key; run this on your server, never in
    the client. ``base_url`` points at another endpoint, e.g. the emulator's
    ``rest_base_url``; ``ssl`` trusts its certificate (a PEM path or an ``ssl.SSLContext``),
    as the service's ``ssl=`` does."""
    from google import genai
    from google.genai import types

    from pipecat_gemini_live.settings import resolve_api_key

    if uses < 1:
        raise ValueError(f"uses must be at least 1, got {uses}.")
    context = tls_context(ssl, (base_url or "https://").replace("https://", "wss://", 1))
    # httpx reads "verify", aiohttp "ssl"; the SDK passes each client only what it takes.
    trust = {"verify": context, "ssl": context} if context is not None else None
    client = genai.Client(
        api_key=resolve_api_key(api_key),
        http_options=types.HttpOptions(
            api_version="v1alpha", base_url=base_url, client_args=trust, async_client_args=trust
        ),
    )
    now = datetime.datetime.now(datetime.timezone.utc)
    try:
        token = await client.aio.auth_tokens.create(
            config=types.CreateAuthTokenConfig(
                uses=uses,
                expire_time=now + expire_after,
                new_session_expire_time=now + new_sessions_within,
            )
        )
    except Exception as error:
        refused = certificate_error(error)
        if refused is None:
            raise
        raise GeminiLiveError(untrusted_hint(refused)) from None
    if not token.name:
        raise GeminiLiveError("The token service answered without a token name.")
    return token.name
