"""One module per results.json section of a micro run; each exposes `add(results, benchmarks)`."""
