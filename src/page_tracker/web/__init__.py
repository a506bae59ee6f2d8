"""HTTP surfaces, one blueprint each: parse input, call a service, shape the answer."""
