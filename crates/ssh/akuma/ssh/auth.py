"""User authentication (RFC 4252): none, publickey (with the PK_OK query),
and password when enabled; the failure limit."""
import logging

from . import messages as msg
from . import wire
from .errors import NO_MORE_AUTH_METHODS_AVAILABLE, SERVICE_NOT_AVAILABLE, DisconnectError
from .keys import parse_public_key

log = logging.getLogger("akuma.ssh")


class UserAuth:
    def __init__(self, conn):
        self.conn = conn
        self.config = conn.config
        self.failures = 0

    def methods(self):
        return ["publickey"] + (["password"] if self.config.password_auth else [])

    def handle(self, payload):
        """Process one USERAUTH_REQUEST; returns the UserInfo on success."""
        r = wire.Reader(payload, 1)
        user_name, service, method = r.text(), r.text(), r.text()
        if service != "ssh-connection":
            raise DisconnectError(SERVICE_NOT_AVAILABLE, f"unknown service {service!r}")
        if method == "none":
            return self._fail(count=False)
        user = self._lookup(user_name)
        if method == "publickey":
            return self._publickey(r, user_name, user)
        if method == "password" and self.config.password_auth:
            if r.boolean():           # password change requests are not supported
                return self._fail()
            password = r.text()
            if user is not None and self._backend_says(self.conn.backend.check_password, user, password):
                return self._succeed(user, "password")
            return self._fail()
        return self._fail(count=False)

    def _lookup(self, name):
        try:
            return self.conn.backend.lookup_user(name)
        except Exception as e:                            # backend bug: deny, log
            log.warning("ssh %s: user lookup for %r failed: %s", self.conn.peer, name, e)
            return None

    def _backend_says(self, check, *args):
        try:
            return bool(check(*args))
        except Exception as e:
            log.warning("ssh %s: auth backend error: %s", self.conn.peer, e)
            return False

    def _publickey(self, r, user_name, user):
        has_signature = r.boolean()
        algorithm = r.text()
        blob = r.string()
        key = parse_public_key(blob)
        if algorithm not in self.config.pubkey_algorithms or key is None or not key.supports(algorithm):
            return self._fail()
        if user is None or not self._authorized(user, blob):
            return self._fail()
        if not has_signature:
            self.conn.send(wire.byte(msg.USERAUTH_PK_OK) + wire.string(algorithm) + wire.string(blob))
            return None
        signature = r.string()
        signed = (wire.string(self.conn.session_id) + wire.byte(msg.USERAUTH_REQUEST)
                  + wire.string(user_name) + wire.string("ssh-connection")
                  + wire.string("publickey") + wire.boolean(True)
                  + wire.string(algorithm) + wire.string(blob))
        if key.verify(algorithm, signed, signature):
            return self._succeed(user, f"publickey {algorithm}")
        return self._fail()

    def _authorized(self, user, blob):
        try:
            return blob in set(self.conn.backend.authorized_keys(user))
        except Exception as e:
            log.warning("ssh %s: authorized_keys for %s failed: %s", self.conn.peer, user.name, e)
            return False

    def _succeed(self, user, how):
        log.info("ssh %s: accepted %s for %s", self.conn.peer, how, user.name)
        self.conn.send(wire.byte(msg.USERAUTH_SUCCESS))
        return user

    def _fail(self, count=True):
        if count:
            self.failures += 1
            if self.failures >= self.config.max_auth_tries:
                raise DisconnectError(NO_MORE_AUTH_METHODS_AVAILABLE, "too many authentication failures")
        self.conn.send(wire.byte(msg.USERAUTH_FAILURE) + wire.name_list(self.methods()) + wire.boolean(False))
        return None
