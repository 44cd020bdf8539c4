"""``python -m pipecat_gemini_live.emulator --port 8765``: run the emulator until Ctrl-C.

``--speech`` makes it audible: it recognises what the user says and answers in a real voice
(needs ``pip install "pipecat-gemini-live[speech]"``; see ``emulator/speech.py``).
``--replay call.json`` plays a recorded call (``GeminiLiveService(record_to=...)``, or Google's
own frames) back to whoever connects.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from pipecat_gemini_live.emulator.behaviour import Responder
from pipecat_gemini_live.emulator.server import LiveEmulator
from pipecat_gemini_live.recording import Recording


def speaking_responder(voice: str) -> Responder:
    """The audible responder, loaded before the first client connects."""
    from pipecat_gemini_live.emulator.speech import SpeakingResponder

    responder = SpeakingResponder(voice=voice)
    responder.warm_up()
    print(
        f"Speech mode: Whisper tiny.en hears, the {responder.voice_name} voice speaks", flush=True
    )
    return responder


async def serve(args: argparse.Namespace) -> None:
    responder = speaking_responder(args.voice) if args.speech else None
    options = {
        "api_key": None if args.any_key else args.api_key,
        "tls": args.tls,
        "host": args.host,
        "port": args.port,
        "pace": args.pace,
        "connection_lifetime": args.connection_lifetime,
        "allow_unknown_models": args.allow_unknown_models,
    }
    if args.replay:
        recording = Recording.load(args.replay)
        emulator = LiveEmulator.replay(recording, **options)
        print(f"Replaying {args.replay} (a call with {recording.model_id})", flush=True)
    else:
        emulator = LiveEmulator(responder=responder, **options)
    async with emulator:
        print(f"Gemini Live emulator listening on {emulator.base_url}", flush=True)
        if emulator.cert_path:
            print(
                f"TLS certificate (trust it with SSL_CERT_FILE): {emulator.cert_path}", flush=True
            )
        await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m pipecat_gemini_live.emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--tls", action="store_true", help="serve wss with a self-signed certificate"
    )
    parser.add_argument("--api-key", default="emulator-key", help="the key clients must send")
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
        help="serve model ids Google does not (default: refused with 1008, as Google does)",
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
        choices=["auto", "piper", "espeak-ng-lib", "espeak-ng", "tones"],
        help="with --speech: auto = piper if installed, else espeak-ng-lib (the espeakng-loader "
        "wheel), else the espeak-ng program, else tones",
    )
    args = parser.parse_args()
    if args.speech:
        from pipecat_gemini_live.emulator.speech import missing_speech_extra

        problem = missing_speech_extra()
        if problem:
            parser.error(problem)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args))


if __name__ == "__main__":
    main()
