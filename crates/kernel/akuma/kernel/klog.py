"""Python logging from kernel code (the SSH server, ext2) into the kernel
log: one `akuma: ...` line (through the console's log stream when there is
one: a raw terminal needs CRLF), never a traceback on the user's terminal
unless AKUMA_DEBUG is set.  Without this, warnings reached Python's
last-resort handler and were printed raw on stderr."""
import logging
import os
import traceback


class KernelLogHandler(logging.Handler):
    def __init__(self, kernel):
        super().__init__(logging.WARNING)
        self.kernel = kernel

    def emit(self, record):
        try:
            msg = record.getMessage()
            exc = record.exc_info[1] if record.exc_info else None
            if exc is not None:
                msg += f": {exc!r}"
            self.kernel.log(msg)
            if exc is not None and os.environ.get("AKUMA_DEBUG"):
                traceback.print_exception(*record.exc_info, file=self.kernel.log_file)
        except Exception:       # logging must never take the kernel down
            pass


def route_python_logging(kernel):
    """Send the `akuma` loggers' warnings and errors to ``kernel.log``
    (replacing a previous kernel's handler)."""
    logger = logging.getLogger("akuma")
    for handler in list(logger.handlers):
        if isinstance(handler, KernelLogHandler):
            logger.removeHandler(handler)
    logger.addHandler(KernelLogHandler(kernel))
    logger.propagate = False
