"""python3-zeep calling the spyne service directly: the baseline of `npm run bench:legacy`.

/usr/bin/python3 zeep_client_bench.py WSDL_URL SECONDS THREADS
Each thread has its own zeep Client and calls GetCustomer in a loop for SECONDS (after a short
warm-up); prints {"rps": ..., "p50_ms": ..., "calls": ...} as JSON.
"""
import json
import sys
import threading
import time

from zeep import Client

wsdl, seconds, threads = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
latencies = []
lock = threading.Lock()


def run():
    client = Client(wsdl)
    for _ in range(20):
        client.service.GetCustomer(7)
    start_barrier.wait()
    mine = []
    while time.perf_counter() < deadline[0]:
        t0 = time.perf_counter()
        result = client.service.GetCustomer(7)
        mine.append(time.perf_counter() - t0)
        assert result.id == 7
    with lock:
        latencies.extend(mine)


# Set once every thread warmed up; read by each loop.
deadline = [float('inf')]
start_barrier = threading.Barrier(threads + 1)
workers = [threading.Thread(target=run) for _ in range(threads)]
for worker in workers:
    worker.start()
start_barrier.wait()
started = time.perf_counter()
deadline[0] = started + seconds
for worker in workers:
    worker.join()
elapsed = time.perf_counter() - started
latencies.sort()
json.dump({'rps': len(latencies) / elapsed, 'p50_ms': latencies[len(latencies) // 2] * 1000, 'calls': len(latencies)}, sys.stdout)
