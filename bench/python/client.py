"""The original Python Lomond as a benchmark client: the baseline.

usage: client.py SCENARIO SIZE COUNT URL   (run by bench-run, see bench/run.sh)

Prints the same line as bench-client: lib scenario size count secs cpu
maxrss_kb extra.
"""
import resource
import sys
import time

from lomond import WebSocket


def main():
    scenario, size, count, base = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    base = base.rstrip("/")
    path = {
        "recv": f"/firehose?size={size}&count={count}",
        "send": "/sink",
        "echo1": "/echo",
        "echo64": "/echo",
    }.get(scenario)
    if path is None:
        sys.exit(f"scenario {scenario} is not run for the baseline")
    inflight = 64 if scenario == "echo64" else 1
    payload = b"x" * size
    start_cpu = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    ws = WebSocket(base + path)
    sent = got = 0
    for event in ws.connect(ping_rate=0, poll=60, close_timeout=5):
        if event.name == "ready":
            if scenario == "send":
                for _ in range(count):
                    ws.send_binary(payload)
                ws.send_text("done")
            elif scenario.startswith("echo"):
                while sent < min(inflight, count):
                    ws.send_binary(payload)
                    sent += 1
        elif event.name == "text" and scenario == "send":
            if int(event.text) != size * count:
                sys.exit("the server counted another byte total")
            ws.close()
        elif event.name in ("binary", "text"):
            got += 1
            if scenario.startswith("echo") and sent < count:
                ws.send_binary(payload)
                sent += 1
            if got == count:
                ws.close()
        elif event.name == "disconnected":
            break
    secs = time.perf_counter() - start
    end_cpu = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (end_cpu.ru_utime - start_cpu.ru_utime) + (end_cpu.ru_stime - start_cpu.ru_stime)
    if scenario != "send" and got < count:
        sys.exit(f"closed early after {got} messages")
    print(f"lomond-python {scenario} {size} {count} {secs:.6f} {cpu:.6f} {end_cpu.ru_maxrss} 0")


main()
