"""User-facing interfaces: the `aigc-prov` command line (and later the HTTP service)."""
