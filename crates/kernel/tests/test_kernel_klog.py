"""Python logging from kernel code lands in the kernel log as one line,
never as a traceback on the user's terminal."""
import io
import logging

import pytest

from akuma.kernel.klog import KernelLogHandler, route_python_logging


@pytest.fixture(autouse=True)
def restore_akuma_logger():
    """Leave the `akuma` logger as found (other tests read it with caplog)."""
    logger = logging.getLogger("akuma")
    handlers, propagate = list(logger.handlers), logger.propagate
    yield
    logger.handlers[:] = handlers
    logger.propagate = propagate


class FakeKernel:
    def __init__(self):
        self.lines = []
        self.log_file = io.StringIO()

    def log(self, msg):
        self.lines.append(msg)


def test_warnings_and_exceptions_become_one_kernel_log_line(monkeypatch, capsys):
    monkeypatch.delenv("AKUMA_DEBUG", raising=False)
    k = FakeKernel()
    route_python_logging(k)
    log = logging.getLogger("akuma.ssh")
    log.info("not shown")
    log.warning("ssh: peer %s sent garbage", "10.0.2.2:5000")
    try:
        raise ValueError("bad packet")
    except ValueError:
        log.exception("ssh: internal error in deferred work")
    assert k.lines == ["ssh: peer 10.0.2.2:5000 sent garbage",
                       "ssh: internal error in deferred work: ValueError('bad packet')"]
    assert k.log_file.getvalue() == ""
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and captured.err == ""


def test_a_second_kernel_replaces_the_first():
    a, b = FakeKernel(), FakeKernel()
    route_python_logging(a)
    route_python_logging(b)
    logging.getLogger("akuma.vfs.ext2").error("ext2: bad block")
    assert a.lines == [] and b.lines == ["ext2: bad block"]
    handlers = [h for h in logging.getLogger("akuma").handlers if isinstance(h, KernelLogHandler)]
    assert len(handlers) == 1
