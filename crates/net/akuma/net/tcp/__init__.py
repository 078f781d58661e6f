"""TCP (RFC 9293), sans-I/O: a ``Tcb`` consumes segments, application calls
and timer expiries, and emits segments through a callback; time comes from
an injected clock.  The stack (akuma.net.stack) wires it to IP and timers."""
