"""`ridgeline watch`: keep findings current between full scans by applying change events as they arrive."""
