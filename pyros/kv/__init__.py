"""Clone key-value store (12/CHP) as sans-I/O state machines.

* :mod:`pyros.kv.message`: wire encoding of CHP commands.
* :mod:`pyros.kv.store`: :class:`~pyros.kv.store.CloneStore`, the server side.
* :mod:`pyros.kv.cache`: :class:`~pyros.kv.cache.CloneCache`, the subscriber side.
"""

from pyros.kv.cache import CacheEntry, CacheState, CloneCache, Resync
from pyros.kv.message import Hugz, Kthxbai, KVMessage, KVProtocolError
from pyros.kv.store import CloneStore, StoreEntry

__all__ = ["CacheEntry", "CacheState", "CloneCache", "CloneStore", "Hugz", "KVMessage", "KVProtocolError",
           "Kthxbai", "Resync", "StoreEntry"]
