"""The original Python Lomond (0.3.4) keeping a connection up with
persist(), for bench-netlab: prints "ready" when a connection opens and
"down" when it is found dead, flushed. Ping every 1 s, dead after 2 s
without a pong, back-off 1 to 3 s; poll 1 s, since Lomond checks its
timers once per poll (its connect timeout is fixed at 30 s)."""
import sys

from lomond import WebSocket
from lomond.persist import persist

down = False
for event in persist(WebSocket(sys.argv[1]), poll=1, ping_rate=1, ping_timeout=2,
                     min_wait=1, max_wait=3):
    if event.name == "ready":
        down = False
        print("ready", flush=True)
    elif event.name in ("unresponsive", "disconnected") and not down:
        down = True
        print("down", flush=True)
