"""Load runs: open and closed pacing, raw samples, HdrHistogram latency, audit, locust runner."""
