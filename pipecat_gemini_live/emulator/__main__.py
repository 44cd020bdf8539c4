"""``python -m pipecat_gemini_live.emulator --port 8765``: run the emulator until Ctrl-C (or
SIGTERM: both stop it cleanly, deleting the ``--tls`` certificate, and exit 0).

At start it prints where it listens (``listening on ws://...``, ``wss://...`` with ``--tls``)
and what a client needs: the key (``test-key`` unless ``--api-key``/``--any-key``), the
WebSocket URL, the base URL google-genai takes, the certificate and how to trust it, and the
ephemeral-token endpoint. Then one line per refused connection (code and reason). A busy port is
one line on stderr and exit code 2.

``--speech`` makes it audible: it recognises what the user says and answers in a real voice
(needs ``pip install "pipecat-gemini-live[speech]"``; see ``emulator/speech.py``).
``--replay call.json`` plays a recorded call (``GeminiLiveService(record_to=...)``, or Google's
own frames) back to whoever connects.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import signal
import sys
from collections.abc import Callable

from pipecat_gemini_live.emulator.behaviour import Responder
from pipecat_gemini_live.emulator.server import DEFAULT_API_KEY, INVALID_KEY, LiveEmulator
from pipecat_gemini_live.recording import Recording

EXIT_CANNOT_LISTEN = 2


def speaking_responder(voice: str) -> Responder:
    """The audible responder, loaded before the first client connects."""
    from pipecat_gemini_live.emulator.speech import SpeakingResponder

    responder = SpeakingResponder(voice=voice)
    responder.warm_up()
    print(
        f"Speech mode: Whisper tiny.en hears, the {responder.voice_name} voice speaks", flush=True
    )
    return responder


def say(line: str) -> None:
    print(line, flush=True)


def report_refused(args: argparse.Namespace) -> Callable[[int, str], None]:
    """One line per refused connection, whatever the log level (``print``, not the logger)."""

    def report(code: int, reason: str) -> None:
        hint = ""
        if reason == INVALID_KEY and args.any_key:
            hint = " (send a key: any non-empty one will do)"
        elif reason == INVALID_KEY:
            hint = f" (this emulator takes the key {args.api_key!r}; --any-key accepts any)"
        elif code == 1008 and reason.startswith("models/"):
            hint = " (--allow-unknown-models serves it)"
        say(f"Refused a connection: {code} {' '.join(reason.split())}{hint}")

    return report


def print_how_to_connect(emulator: LiveEmulator, args: argparse.Namespace) -> None:
    """What a client needs, after the ``listening on`` line (which stays the first)."""
    key = args.api_key
    ws_base = emulator.base_url.replace("https://", "wss://", 1)
    say(f"Gemini Live emulator listening on {ws_base}")
    if emulator.cert_path:
        cert = emulator.cert_path
        say(f"  TLS certificate (self-signed, deleted when the emulator stops): {cert}")
        say(f'  trust it: SSL_CERT_FILE={cert}, or ssl.create_default_context(cafile="{cert}")')
    if args.any_key:
        say("  API key:      any non-empty key (--any-key)")
    else:
        say(f"  API key:      {key} (change it with --api-key KEY; --any-key accepts any key)")
    say(f"  WebSocket:    {emulator.ws_url}")
    say(f'  Pipecat:      GeminiLiveService(api_key="{key}", base_url="{ws_base}")')
    if emulator.tls:
        say(
            f'  google-genai: genai.Client(api_key="{key}", http_options={{"base_url": '
            f'"{emulator.base_url}"}}), with SSL_CERT_FILE set as above'
        )
    else:
        say("  google-genai: needs TLS whenever an API key is set: restart with --tls")
    say(f"  tokens:       POST {emulator.rest_base_url}/v1alpha/auth_tokens (ephemeral tokens)")
    if args.replay:
        say("  models:       any (the replay plays the recorded call)")
    elif args.allow_unknown_models:
        say("  models:       any (unknown ids get the 2.5 profile; --allow-unknown-models)")
    else:
        say(
            "  models:       those Google serves; others are refused with 1008 "
            "(--allow-unknown-models serves them)"
        )
    say("Refused connections are printed below. Ctrl-C or SIGTERM stops the emulator.")


async def serve(args: argparse.Namespace) -> int:
    responder = speaking_responder(args.voice) if args.speech else None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not on Windows
            loop.add_signal_handler(signum, stop.set)
    options = {
        "api_key": None if args.any_key else args.api_key,
        "tls": args.tls,
        "host": args.host,
        "port": args.port,
        "pace": args.pace,
        "connection_lifetime": args.connection_lifetime,
        "allow_unknown_models": args.allow_unknown_models,
        "on_refused": report_refused(args),
    }
    if args.replay:
        recording = Recording.load(args.replay)
        emulator = LiveEmulator.replay(recording, **options)
        print(f"Replaying {args.replay} (a call with {recording.model_id})", flush=True)
    else:
        emulator = LiveEmulator(responder=responder, **options)
    try:
        await emulator.start()
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            problem = f"port {args.port} is in use; pick another with --port"
        else:
            problem = f"cannot listen on {args.host}:{args.port}: {error.strerror or error}"
        print(f"Gemini Live emulator: {problem}", file=sys.stderr, flush=True)
        return EXIT_CANNOT_LISTEN
    try:
        print_how_to_connect(emulator, args)
        await stop.wait()
    finally:
        await emulator.stop()
    say("Gemini Live emulator stopped")
    return 0


def main() -> None:
    from pipecat_gemini_live.emulator.speech import VOICES  # numpy and soxr only

    parser = argparse.ArgumentParser(
        prog="python -m pipecat_gemini_live.emulator",
        description="A local Gemini Live API server. It prints its URL, the key it takes and "
        "how each client connects, then one line per refused connection; Ctrl-C or SIGTERM "
        "stops it.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="default: 127.0.0.1")
    parser.add_argument(
        "--port", type=int, default=8765, help="default: 8765 (0: any free port, printed)"
    )
    parser.add_argument(
        "--tls",
        action="store_true",
        help="serve wss with a self-signed certificate (google-genai needs TLS)",
    )
    parser.add_argument(
        "--api-key",
        default=DEFAULT_API_KEY,
        help=f"the key clients must send (default: {DEFAULT_API_KEY})",
    )
    parser.add_argument("--any-key", action="store_true", help="accept any non-empty key")
    parser.add_argument(
        "--pace", type=float, default=1.0, help="reply speed vs real time (0 = burst)"
    )
    parser.add_argument(
        "--connection-lifetime", type=float, default=None, help="seconds per connection"
    )
    parser.add_argument(
        "--allow-unknown-models",
        action="store_true",
        help="serve model ids Google does not serve (by default they are refused with 1008, "
        "as Google refuses them)",
    )
    parser.add_argument(
        "--replay", metavar="FILE", help="play a recorded call back instead of a model"
    )
    parser.add_argument(
        "--speech",
        action="store_true",
        help="hear the user's words and answer aloud (needs the 'speech' extra)",
    )
    parser.add_argument(
        "--voice",
        default="auto",
        choices=VOICES,
        help="with --speech: auto = piper if installed, else espeak-ng-lib (the espeakng-loader "
        "wheel), else the espeak-ng program, else tones",
    )
    args = parser.parse_args()
    if args.speech:
        from pipecat_gemini_live.emulator.speech import missing_speech_extra

        problem = missing_speech_extra()
        if problem:
            parser.error(problem)
    code = 0
    with contextlib.suppress(KeyboardInterrupt):  # where signal handlers cannot be installed
        code = asyncio.run(serve(args))
    sys.exit(code)


if __name__ == "__main__":
    main()
