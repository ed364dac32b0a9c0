"""`python -m tests.support.lbasedb [--host 127.0.0.1] [--port 8080] [--payload-limit BYTES]`."""

from __future__ import annotations

import argparse

from tests.support.lbasedb.server import DEFAULT_PAYLOAD_LIMIT, run_forever


def main() -> None:
    parser = argparse.ArgumentParser(description="An Lbasedb stand-in (tests/support/lbasedb).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument(
        "--payload-limit", type=int, default=DEFAULT_PAYLOAD_LIMIT, help="Lbasedb's PAYLOAD_LIMIT (bytes)."
    )
    options = parser.parse_args()
    run_forever(options.host, options.port, payload_limit=options.payload_limit)


if __name__ == "__main__":
    main()
