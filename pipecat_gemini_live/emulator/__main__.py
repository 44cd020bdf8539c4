"""``python -m pipecat_gemini_live.emulator --port 8765``: run the emulator until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from pipecat_gemini_live.emulator.server import LiveEmulator


async def serve(args: argparse.Namespace) -> None:
    emulator = LiveEmulator(
        api_key=None if args.any_key else args.api_key,
        tls=args.tls,
        host=args.host,
        port=args.port,
        pace=args.pace,
        connection_lifetime=args.connection_lifetime,
    )
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
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
