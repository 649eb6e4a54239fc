"""Projection lag: exact per-event stage lags from the projector's stamps, and a live probe."""
