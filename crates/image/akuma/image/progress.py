"""A one-line progress bar on a terminal; silent otherwise (logs, pipes)."""
import sys
import time


class Progress:
    def __init__(self, stream=None, enabled=None):
        self.stream = stream or sys.stderr
        if enabled is None:
            enabled = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.enabled = enabled
        self._last = 0.0
        self._shown = False

    def update(self, label, done, total, unit=""):
        """Redraw (at most 20 times a second) the bar for ``done``/``total``."""
        if not self.enabled:
            return
        now = time.monotonic()
        if done < total and now - self._last < 0.05:
            return
        self._last = now
        frac = done / total if total else 1.0
        width = 30
        filled = int(frac * width)
        bar = "#" * filled + "-" * (width - filled)
        amount = (f"{done / 1e6:.1f}/{total / 1e6:.1f} MB" if unit == "B"
                  else f"{done}/{total}")
        self.stream.write(f"\r\x1b[K{label:<12} [{bar}] {frac * 100:3.0f}% {amount}")
        self.stream.flush()
        self._shown = True

    def note(self, text):
        """A line of its own (ends the current bar)."""
        if not self.enabled:
            return
        self.end()
        self.stream.write(text + "\n")
        self.stream.flush()

    def end(self):
        if self._shown:
            self.stream.write("\n")
            self.stream.flush()
            self._shown = False
