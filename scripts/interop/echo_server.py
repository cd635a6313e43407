"""A Python `websockets` echo server with permessage-deflate, as a real peer
for lomond's interoperability test. Prints its URL, then serves until
killed.

usage: python echo_server.py PORT
"""
import asyncio
import sys

from websockets.asyncio.server import serve


async def echo(ws):
    async for message in ws:
        await ws.send(message)


async def main():
    port = int(sys.argv[1])
    # compression="deflate" is the default; spelled out because it is the
    # point of this peer. No size limit: lomond's limits are under test.
    async with serve(echo, "127.0.0.1", port, compression="deflate", max_size=None):
        print(f"ws://127.0.0.1:{port}/", flush=True)
        await asyncio.Future()


asyncio.run(main())
