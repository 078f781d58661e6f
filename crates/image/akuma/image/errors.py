"""The one exception the image builder raises: its message is the whole
story, printed as one line by the CLI (never a traceback)."""


class ImageError(Exception):
    """Building or fetching an image failed (no archive, bad hash, full disk...)."""
