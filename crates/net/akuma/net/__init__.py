"""The network: sockets (AF_UNIX, AF_INET), the TCP/IP stack on a virtual
NIC, the user-mode NAT backend and port forwards."""
