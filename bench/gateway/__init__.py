"""Benchmarks of the gateway service (bench/README.md, section "Gateway")."""
