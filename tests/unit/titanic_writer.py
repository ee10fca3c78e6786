"""Child process for the durability test: accept requests forever, print each UUID once stored."""

from __future__ import annotations

import sys
import time

from pyros.titanic.store import TitanicStore


def main() -> None:
    """Accept requests until killed, printing each UUID after accept() returned."""
    store = TitanicStore(sys.argv[1])
    n = 0
    while True:
        uid = store.accept("echo", [f"request {n}".encode()], time.time())
        if n % 7 == 0:  # also exercise the other transitions while being killed
            store.claim_due(time.time(), limit=3)
            store.store_reply(uid, [b"reply"], time.time())
        sys.stdout.write(uid + "\n")
        sys.stdout.flush()
        n += 1


if __name__ == "__main__":
    main()
