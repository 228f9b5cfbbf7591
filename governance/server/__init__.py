"""`govern serve`: decisions over HTTP (OpenID AuthZEN 1.0) for gateways not written in Python."""
