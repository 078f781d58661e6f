"""SSH_MSG_DISCONNECT reason codes (RFC 4253 §11.1) and the one exception
that ends a connection: raised anywhere inside the connection object, caught
at its edge, turned into a DISCONNECT packet and a log line."""

HOST_NOT_ALLOWED_TO_CONNECT = 1
PROTOCOL_ERROR = 2
KEY_EXCHANGE_FAILED = 3
MAC_ERROR = 5
COMPRESSION_ERROR = 6
SERVICE_NOT_AVAILABLE = 7
PROTOCOL_VERSION_NOT_SUPPORTED = 8
HOST_KEY_NOT_VERIFIABLE = 9
CONNECTION_LOST = 10
BY_APPLICATION = 11
TOO_MANY_CONNECTIONS = 12
AUTH_CANCELLED_BY_USER = 13
NO_MORE_AUTH_METHODS_AVAILABLE = 14
ILLEGAL_USER_NAME = 15

REASON_NAMES = {
    value: name for name, value in globals().items()
    if name.isupper() and isinstance(value, int)
}


class DisconnectError(Exception):
    """End the connection with ``reason`` (one of the codes above)."""

    def __init__(self, reason, description):
        super().__init__(description)
        self.reason = reason
        self.description = description

    def __str__(self):
        return f"{REASON_NAMES.get(self.reason, self.reason)}: {self.description}"


def protocol_error(description):
    return DisconnectError(PROTOCOL_ERROR, description)
