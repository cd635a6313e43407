"""Python websockets (17) keeping a connection up, for bench-netlab: prints
"ready" when a connection opens and "down" when it is found dead, flushed.
Ping every 1 s, dead after 2 s without a pong, connect timeout 2 s;
back-off 1 to 3 s (WEBSOCKETS_BACKOFF_* set by bench-netlab)."""
import asyncio
import sys

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed


async def main(url):
    async for ws in connect(url, ping_interval=1, ping_timeout=2, open_timeout=2):
        print("ready", flush=True)
        try:
            async for _ in ws:
                pass
        except ConnectionClosed:
            pass
        print("down", flush=True)


asyncio.run(main(sys.argv[1]))
