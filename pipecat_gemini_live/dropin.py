"""A drop-in for Pipecat's built-in ``GeminiLiveLLMService``: its name, its constructor.

A bot written for the built-in runs on this package when one import changes::

    from pipecat.services.google.gemini_live.llm import GeminiLiveLLMService, GeminiVADParams
    # becomes
    from pipecat_gemini_live.dropin import GeminiLiveLLMService, GeminiVADParams

The built-in's own parameter types (``GeminiVADParams``, ``InputParams``...) are re-exported
from Pipecat unchanged, so the rest of the file stays as it is. What the user hears keeps the
built-in's defaults (voice Charon, language en-US, 4096 output tokens); what keeps a call alive
is ours (context compression on, resumption, reconnects). Our own arguments (``record_to=``,
``video=``...) may be added beside the built-in's.
"""

from __future__ import annotations

from typing import Any

from pipecat.services.google.gemini_live.llm import (
    ContextWindowCompressionParams,
    GeminiMediaResolution,
    GeminiModalities,
    GeminiVADParams,
    InputParams,
)

from pipecat_gemini_live.config import VertexSettings
from pipecat_gemini_live.errors import ConfigurationError
from pipecat_gemini_live.service import GeminiLiveService
from pipecat_gemini_live.settings import GeminiLiveSettings

__all__ = [
    "ContextWindowCompressionParams",
    "GeminiLiveLLMService",
    "GeminiLiveVertexLLMService",
    "GeminiMediaResolution",
    "GeminiModalities",
    "GeminiVADParams",
    "InputParams",
]

BUILTIN_VOICE = "Charon"
BUILTIN_LANGUAGE = "en-US"
BUILTIN_MAX_TOKENS = 4096
# HttpOptions fields that say where and how to connect; the rest configure an HTTP client
# this service does not have.
_HTTP_OPTIONS_TAKEN = {"base_url", "api_version", "headers"}


class GeminiLiveLLMService(GeminiLiveService):
    """:class:`~pipecat_gemini_live.GeminiLiveService`, constructed as Pipecat's built-in
    service is (``voice_id``, ``params``, ``http_options``, ``start_audio_paused``...)."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        model: str | None = None,
        voice_id: str = BUILTIN_VOICE,
        start_audio_paused: bool = False,
        start_video_paused: bool = False,
        system_instruction: str | None = None,
        tools: Any = None,
        params: Any = None,
        settings: GeminiLiveSettings | None = None,
        inference_on_context_initialization: bool = True,
        user_audio_preroll_secs: float | None = None,
        file_api_base_url: str | None = None,
        http_options: Any = None,
        **kwargs: Any,
    ) -> None:
        """Arguments as the built-in's (see Pipecat's ``GeminiLiveLLMService``), plus any of
        :class:`~pipecat_gemini_live.GeminiLiveService`'s.

        ``settings`` wins over ``params`` (which is read only when ``settings`` is not
        given, as the built-in does). ``file_api_base_url`` is refused: there is no File
        API client here. ``http_options`` gives the endpoint (``base_url``), ``api_version``,
        extra handshake ``headers`` and ``async_client_args={"ssl": context}``; its other
        HTTP-client fields are refused.
        """
        if file_api_base_url is not None:
            raise ConfigurationError(
                "file_api_base_url: this service has no Gemini File API client. Upload files "
                "with google-genai (client.files.upload) and put their URIs in the context, "
                "or drop the argument."
            )
        delta = GeminiLiveSettings(
            voice=voice_id, language=BUILTIN_LANGUAGE, max_tokens=BUILTIN_MAX_TOKENS
        )
        if params is not None and settings is None:
            delta.apply_update(settings_from_params(params))
        if settings is not None:
            delta.apply_update(settings)
        connection = connection_from_http_options(http_options)
        for name, value in connection.items():
            if kwargs.get(name) not in (None, value):
                raise ConfigurationError(
                    f"{name} is given twice, as {kwargs[name]!r} and in http_options as "
                    f"{value!r}: give one of them."
                )
        kwargs.update(connection)
        if user_audio_preroll_secs is not None:
            kwargs.setdefault("local_vad_preroll_ms", round(user_audio_preroll_secs * 1000))
        super().__init__(
            api_key=api_key,
            model=model,
            system_instruction=system_instruction,
            tools=tools,
            settings=delta,
            inference_on_context_initialization=inference_on_context_initialization,
            **kwargs,
        )
        self.set_audio_input_paused(start_audio_paused)
        self.set_video_input_paused(start_video_paused)


class GeminiLiveVertexLLMService(GeminiLiveLLMService):
    """The drop-in for Pipecat's ``GeminiLiveVertexLLMService``: Vertex AI with a service
    account (``credentials`` as JSON text, or ``credentials_path``) or Application Default
    Credentials. The token is fetched in a thread before each connection, not here."""

    def __init__(
        self,
        *,
        credentials: str | None = None,
        credentials_path: str | None = None,
        location: str,
        project_id: str,
        **kwargs: Any,
    ) -> None:
        if "api_key" in kwargs:
            raise ConfigurationError(
                "GeminiLiveVertexLLMService takes no api_key: pass credentials= (the service "
                "account's JSON) or credentials_path=, or leave both out for Application "
                "Default Credentials."
            )
        kwargs.setdefault("model", None)
        kwargs["vertex"] = VertexSettings(
            project=project_id,
            location=location,
            credentials=service_account_credentials(credentials, credentials_path),
        )
        super().__init__(**kwargs)


def service_account_credentials(json_text: str | None, path: str | None) -> Any:
    """google-auth credentials from a service account's JSON (text or file); ``None`` means
    Application Default Credentials, looked up when the first connection opens."""
    if not (json_text or path):
        return None
    import json

    from google.oauth2 import service_account

    scopes = ["https://www.googleapis.com/auth/cloud-platform"]
    try:
        if json_text:
            info = json.loads(json_text)
            return service_account.Credentials.from_service_account_info(info, scopes=scopes)
        return service_account.Credentials.from_service_account_file(str(path), scopes=scopes)
    except (ValueError, OSError) as error:
        what = "credentials" if json_text else f"credentials_path={path!r}"
        raise ConfigurationError(
            f"{what} is not a service account key ({type(error).__name__}); pass the JSON "
            "key file Google Cloud gave you."
        ) from None


def settings_from_params(params: Any) -> GeminiLiveSettings:
    """The built-in's deprecated ``InputParams``, as settings (its defaults included, as the
    built-in applies them: 4096 tokens, English)."""
    fields = (
        "frequency_penalty",
        "max_tokens",
        "presence_penalty",
        "temperature",
        "top_k",
        "top_p",
        "modalities",
        "media_resolution",
        "vad",
        "context_window_compression",
        "thinking",
        "enable_affective_dialog",
        "proactivity",
    )
    values: dict[str, Any] = {name: getattr(params, name, None) for name in fields}
    values = {name: value for name, value in values.items() if value is not None}
    language = getattr(params, "language", None)
    extra = getattr(params, "extra", None)
    if extra:
        raise ConfigurationError(
            f"InputParams.extra ({', '.join(extra)}) is not read by this service; set those "
            "fields through GeminiLiveLLMService.Settings, or live_connect_config for setup "
            "fields it does not model."
        )
    return GeminiLiveSettings(**values, language=language or BUILTIN_LANGUAGE)


def connection_from_http_options(http_options: Any) -> dict[str, Any]:
    """``base_url``, ``api_version``, ``headers`` and the trusted certificates
    (``async_client_args={"ssl": context}``) from google-genai's ``HttpOptions`` (or its dict);
    the fields that configure an HTTP client are refused by name."""
    if http_options is None:
        return {}
    if isinstance(http_options, dict):
        given = {k: v for k, v in http_options.items() if v is not None}
    else:
        given = {k: v for k, v in vars(http_options).items() if v is not None}
    client_args = given.pop("async_client_args", None) or {}
    if set(client_args) == {"ssl"}:  # the built-in's way to trust a private endpoint
        given["ssl"] = client_args["ssl"]
    elif client_args:
        given["async_client_args"] = client_args
    refused = sorted(set(given) - _HTTP_OPTIONS_TAKEN - {"ssl"})
    if refused:
        raise ConfigurationError(
            f"http_options: {', '.join(refused)} configure an HTTP client, which this service "
            "does not use (it holds one WebSocket). Set base_url, api_version or headers; for "
            "TLS to a private endpoint pass ssl=."
        )
    out: dict[str, Any] = {}
    if "base_url" in given:
        out["base_url"] = str(given["base_url"])
    if "api_version" in given:
        out["api_version"] = str(given["api_version"])
    if given.get("headers"):
        out["headers"] = dict(given["headers"])
    if "ssl" in given:
        out["ssl"] = given["ssl"]
    return out
