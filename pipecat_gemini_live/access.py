"""How the service reaches the Live API: the endpoint, the credentials of each connection
attempt, and the recorder that writes the call down. The one holder of the secret."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from typing import Any

from pipecat_gemini_live import protocol
from pipecat_gemini_live.config import SessionConfig, VertexSettings
from pipecat_gemini_live.models import Backend
from pipecat_gemini_live.recording import AudioMode, RecordingWriter
from pipecat_gemini_live.settings import resolve_api_key
from pipecat_gemini_live.tls import TrustedCertificates, tls_context


class Access:
    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str | None,
        api_version: str | None,
        vertex: VertexSettings | None,
        headers: Mapping[str, str] | None = None,
        ssl: TrustedCertificates = None,
    ) -> None:
        self._vertex = vertex
        self._extra_headers = dict(headers or {})
        # Name-mangled, so never in vars() dumps. Vertex with a project uses credentials instead.
        self.__api_key = (
            (api_key or "") if vertex is not None and vertex.project else resolve_api_key(api_key)
        )
        ephemeral = self.__api_key.startswith("auth_tokens/")
        if api_version is None:
            api_version = "v1alpha" if ephemeral else protocol.DEFAULT_API_VERSION
        self.api_version = api_version
        self.url = (
            protocol.vertex_endpoint_url(vertex.location, base_url)
            if vertex is not None
            else protocol.endpoint_url(base_url, api_version=api_version, ephemeral_token=ephemeral)
        )
        self.ssl = tls_context(ssl, self.url)

    def __repr__(self) -> str:
        return f"Access(url={self.url!r})"

    async def headers(self) -> dict[str, str]:
        """Credentials for one connection attempt. Vertex access tokens are refreshed in a
        thread (google-auth blocks on HTTP) when they are missing or about to expire. Extra
        headers the app gave (a proxy's, say) go first; the credentials win over them."""
        return {**self._extra_headers, **await self._credentials()}

    async def _credentials(self) -> dict[str, str]:
        if self._vertex is not None and self._vertex.project:
            credentials = await asyncio.to_thread(_fresh_google_credentials, self._vertex)
            headers = {"Authorization": f"Bearer {credentials.token}"}
            quota_project = getattr(credentials, "quota_project_id", None)
            if quota_project:
                headers["x-goog-user-project"] = str(quota_project)
            return headers
        if self.__api_key.startswith("auth_tokens/"):
            return {"Authorization": f"Token {self.__api_key}"}
        return {"x-goog-api-key": self.__api_key}

    def recorder(
        self,
        path: str | os.PathLike[str] | None,
        config: SessionConfig,
        audio: AudioMode,
        source: str,
    ) -> RecordingWriter | None:
        """A writer for the call's frames, in the replay format; the key is redacted."""
        if path is None:
            return None
        return RecordingWriter(
            path,
            model=protocol.model_resource(
                config.model,
                config.backend,
                project=config.vertex_project,
                location=config.vertex_location,
            ),
            endpoint="vertex" if config.backend is Backend.VERTEX else "gemini-api",
            audio=audio,
            secrets=[self.__api_key],
            source=source,
        )


def _fresh_google_credentials(vertex: VertexSettings) -> Any:
    """The Vertex credentials, refreshed if needed (blocking: run in a thread)."""
    import google.auth
    import google.auth.transport.requests

    credentials = vertex.credentials
    if credentials is None:
        credentials, _ = google.auth.default(
            scopes=["https://www.googleapis.com/auth/cloud-platform"]
        )
        # Cache the default credentials on this settings object's behalf for the next connect.
        object.__setattr__(vertex, "credentials", credentials)
    if not credentials.valid:
        credentials.refresh(google.auth.transport.requests.Request())
    return credentials
