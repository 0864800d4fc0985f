"""Performance benchmarks: `make bench` (see README, "Performance")."""
