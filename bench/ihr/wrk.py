"""wrk with a Lua script that requests a random path from a list, and reports p50/p95/p99."""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

SCRIPT = """
local paths = {}
for line in io.lines(%(paths)s) do paths[#paths + 1] = line end
local counter = 0

setup = function(thread)
    counter = counter + 1
    thread:set("seed", counter)
end

init = function(args)
    math.randomseed(seed * 7919)
end

request = function()
    return wrk.format("GET", paths[math.random(#paths)])
end

done = function(summary, latency, requests)
    local errors = summary.errors
    io.write(string.format(
        'RESULT {"requests": %%d, "duration_us": %%d, "status_errors": %%d, "connect_errors": %%d, '
        .. '"read_errors": %%d, "timeouts": %%d, '
        .. '"p50_us": %%d, "p95_us": %%d, "p99_us": %%d, "max_us": %%d}\\n',
        summary.requests, summary.duration, errors.status, errors.connect, errors.read, errors.timeout,
        latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
"""


def run_mix(
    base: str, paths: list[str], *, seconds: int, connections: int, threads: int = 2
) -> dict[str, Any]:
    """Drive `base` with wrk picking a random path per request; requests/s, latencies, errors."""
    with tempfile.TemporaryDirectory() as folder:
        listing = Path(folder) / "paths.txt"
        listing.write_text("\n".join(paths) + "\n")
        script = Path(folder) / "mix.lua"
        script.write_text(SCRIPT % {"paths": json.dumps(str(listing))})
        out = subprocess.run(
            [
                "wrk",
                f"-t{min(threads, connections)}",
                f"-c{connections}",
                f"-d{seconds}s",
                "--timeout",
                "60s",
                "-s",
                str(script),
                base,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    line = next(line for line in out.splitlines() if line.startswith("RESULT "))
    raw = json.loads(line.removeprefix("RESULT "))
    errors = raw["status_errors"] + raw["connect_errors"] + raw["read_errors"] + raw["timeouts"]
    return {
        "tool": f"wrk -t{min(threads, connections)} -c{connections} -d{seconds}s (random path per request)",
        "connections": connections,
        "requests": raw["requests"],
        "rps": round(raw["requests"] / (raw["duration_us"] / 1e6), 1),
        "p50_ms": round(raw["p50_us"] / 1000, 2),
        "p95_ms": round(raw["p95_us"] / 1000, 2),
        "p99_ms": round(raw["p99_us"] / 1000, 2),
        "max_ms": round(raw["max_us"] / 1000, 2),
        "errors": errors,
        "error_detail": {
            key: raw[key] for key in ("status_errors", "connect_errors", "read_errors", "timeouts")
        },
    }
