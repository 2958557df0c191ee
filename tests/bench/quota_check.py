#!/usr/bin/env python3
"""Checks a quota as the receiver saw it: reads nginx's "$msec $uri" lines
and, per URI, finds the most arrivals in any one-second window [t, t+1000 ms).

  quota_check.py ARRIVALS_LOG LIMIT_PER_SECOND

Prints one summary line; exits 1 when a window held more than the limit."""
import collections
import sys


def main():
    log, limit = sys.argv[1], int(sys.argv[2])
    arrivals = collections.defaultdict(list)
    with open(log) as f:
        for line in f:
            msec, uri = line.split()
            arrivals[uri].append(int(round(float(msec) * 1000)))
    worst, worst_uri, total = 0, "", 0
    for uri, times in arrivals.items():
        times.sort()
        total += len(times)
        start = 0
        for end, t in enumerate(times):
            while times[start] <= t - 1000:
                start += 1
            if end - start + 1 > worst:
                worst, worst_uri = end - start + 1, uri
    print("destinations=%d arrivals=%d busiest_1s_window=%d (%s) limit=%d %s"
          % (len(arrivals), total, worst, worst_uri, limit, "quota held" if worst <= limit else "QUOTA EXCEEDED"))
    sys.exit(0 if worst <= limit else 1)


if __name__ == "__main__":
    main()
