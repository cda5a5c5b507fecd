"""Holds COUNT connections to 127.0.0.1:PORT for SECONDS, each a request head that never ends:
a request line, then one header line every second (a slowloris client). Used by bench_edge.sh to
measure what attached slow clients cost the clients that are served meanwhile. Loopback only."""
import socket
import sys
import time

port, count, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
socks = []
for _ in range(count):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
        s.sendall(b"GET / HTTP/1.1\r\nHost: bench\r\n")
        socks.append(s)
    except OSError:
        break
print(f"holding {len(socks)} slow clients", file=sys.stderr, flush=True)
end = time.monotonic() + seconds
n = 0
while time.monotonic() < end:
    time.sleep(1)
    n += 1
    for s in socks:
        try:
            s.sendall(b"X-Slow-%d: x\r\n" % n)
        except OSError:
            pass
for s in socks:
    s.close()
