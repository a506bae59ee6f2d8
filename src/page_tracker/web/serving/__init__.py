"""The serving core: granian's RSGI interface, each request to the loop or the pool, streams."""
