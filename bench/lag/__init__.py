"""Projection lag: exact per-event stage lags from the projectors' lag records (histograms when
they are off), and a live probe."""
