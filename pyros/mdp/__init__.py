"""Majordomo protocol: sans-I/O codec and broker core (7/MDP, 18/MDP, 8/MMI)."""
