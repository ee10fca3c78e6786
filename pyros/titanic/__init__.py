"""Titanic (9/TSP): requests stored durably and executed asynchronously."""

from pyros.titanic.store import RequestState, StoredRequest, TitanicStore, normalise_uuid

__all__ = ["RequestState", "StoredRequest", "TitanicStore", "normalise_uuid"]
