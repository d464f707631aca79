"""The remote API (RAPI): HTTPS daemon, resource table, client."""
