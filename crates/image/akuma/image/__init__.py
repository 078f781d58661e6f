"""Building and caching system images from Debian arm64 packages."""
