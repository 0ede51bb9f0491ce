"""The SQL catalog: every signed record, searchable; the key ring; the audit log."""
