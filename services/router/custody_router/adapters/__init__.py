"""Router I/O adapters (none beyond the shared bus and policy store yet)."""
