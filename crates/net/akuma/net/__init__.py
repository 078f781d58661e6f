"""The network: sockets (AF_UNIX, AF_INET), the TCP/IP stack on a virtual
NIC, the user-mode NAT backend and port forwards."""

# The kernel imports the socket layer while it initialises; importing it
# first keeps that order when a user (a test) starts from akuma.net.
import akuma.kernel  # noqa: E402,F401
