"""Synthetic preload list for scripts/bench.sh, in the text format of
`hstsproxy preload import` (one host per line, optionally followed by
includeSubDomains).

  python3 gen_preload.py COUNT > list.txt

Deterministic (fixed seed): names of 1 to 3 labels of 3 to 14 letters
and digits under a handful of real top-level domains, about 70% with
includeSubDomains, like the real list's mix. Duplicates are skipped, so
exactly COUNT distinct hosts come out.
"""

import random
import sys

SEED = 20161
TLDS = ["com", "org", "net", "de", "io", "uk", "fr", "nl", "ru", "app",
        "dev", "info", "ch", "se", "pl", "us"]
ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
SUBDOMAINS_SHARE = 0.7


def label(rng):
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(3, 14)))


def main():
    if len(sys.argv) != 2 or not sys.argv[1].isdigit():
        print("usage: gen_preload.py COUNT", file=sys.stderr)
        return 2
    count = int(sys.argv[1])
    rng = random.Random(SEED)
    seen = set()
    out = []
    while len(seen) < count:
        labels = [label(rng) for _ in range(rng.choice((1, 1, 1, 2, 3)))]
        host = ".".join(labels + [rng.choice(TLDS)])
        if host in seen:
            continue
        seen.add(host)
        sub = rng.random() < SUBDOMAINS_SHARE
        out.append(host + (" includeSubDomains" if sub else ""))
    sys.stdout.write("\n".join(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
