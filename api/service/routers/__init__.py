"""One router per resource: health, verify, records, keys, kb, generate, audit."""
