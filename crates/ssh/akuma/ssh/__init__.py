"""The SSH-2 server (sans-I/O protocol core; the kernel wires it to guest port 22)."""
