"""/proc/net renderers, the interface ioctls and the NAT's UDP bindings
(DNS relay, idle expiry, unreachable ports) — host sockets on 127.0.0.1."""
import socket
import struct

import pytest

from akuma.abi import KernelError
from akuma.abi.errors import ENODEV, EPERM
from akuma.net import ifioctl
from akuma.net import natudp
from akuma.net import packets as P
from akuma.net import sockopt as O
from akuma.net.forward import parse_spec, publish
from akuma.net.procnet import render_tcp, render_udp
from inet_env import Env, recv, send
from test_inet_nat import RealClock


def test_proc_net_tcp_lists_listener_and_both_ends_in_linux_layout():
    env = Env()
    srv = env.sock(O.SOCK_STREAM)
    srv.bind(("127.0.0.1", 8080))
    srv.listen(5)
    cli = env.sock(O.SOCK_STREAM)
    cli.connect(("127.0.0.1", 8080))
    lines = render_tcp(env.stack).decode().splitlines()
    assert all(len(line) == 149 for line in lines)
    assert lines[0].startswith("  sl  local_address rem_address   st tx_queue rx_queue")
    fields = [line.split() for line in lines[1:]]
    listen = [f for f in fields if f[3] == "0A"]
    estab = sorted(f[1:3] for f in fields if f[3] == "01")
    assert listen[0][1:3] == ["0100007F:1F90", "00000000:0000"] and listen[0][4] == "00000000:00000001"
    port = f"{cli.lport:04X}"
    assert estab == sorted([["0100007F:1F90", f"0100007F:{port}"],
                            [f"0100007F:{port}", "0100007F:1F90"]])
    assert listen[0][9] == str(srv.ino)


def test_proc_net_udp_shows_queue_and_peer():
    env = Env()
    a, b = env.sock(O.SOCK_DGRAM), env.sock(O.SOCK_DGRAM)
    a.bind(("0.0.0.0", 53))
    b.connect(("127.0.0.1", 53))
    send(b, b"12345")
    lines = render_udp(env.stack).decode().splitlines()
    assert all(len(line) == 127 for line in lines)
    rows = {f[1]: f for f in (line.split() for line in lines[1:])}
    assert rows["00000000:0035"][2:5] == ["00000000:0000", "07", "00000000:00000005"]
    assert rows[f"0100007F:{b.lport:04X}"][2:4] == ["0100007F:0035", "01"]
    recv(a, 10)
    rows = {f[1]: f for f in (line.split() for line in render_udp(env.stack).decode().splitlines()[1:])}
    assert rows["00000000:0035"][4] == "00000000:00000000"


def _ifreq(name, union=b""):
    return name.ljust(16, b"\0") + union.ljust(24, b"\0")


def test_interface_ioctls_answer_like_linux():
    stack = Env().stack
    flags = struct.unpack_from("<h", ifioctl.ifreq(stack, ifioctl.SIOCGIFFLAGS, _ifreq(b"eth0"),
                                                   False), 16)[0]
    assert flags == 0x1043                       # UP BROADCAST RUNNING MULTICAST
    addr = ifioctl.ifreq(stack, ifioctl.SIOCGIFADDR, _ifreq(b"eth0"), False)
    assert addr[16:20] == b"\x02\x00\x00\x00" and addr[20:24] == socket.inet_aton("10.0.2.15")
    mask = ifioctl.ifreq(stack, ifioctl.SIOCGIFNETMASK, _ifreq(b"lo"), False)
    assert mask[20:24] == socket.inet_aton("255.0.0.0")
    hw = ifioctl.ifreq(stack, ifioctl.SIOCGIFHWADDR, _ifreq(b"eth0"), False)
    assert hw[16:18] == b"\x01\x00" and hw[18:24] == b"\x52\x54\x00\x12\x34\x56"
    mtu = ifioctl.ifreq(stack, ifioctl.SIOCGIFMTU, _ifreq(b"lo"), False)
    assert struct.unpack_from("<i", mtu, 16)[0] == 65536
    index = ifioctl.ifreq(stack, ifioctl.SIOCGIFINDEX, _ifreq(b"eth0"), False)
    assert struct.unpack_from("<i", index, 16)[0] == 2
    name = ifioctl.ifreq(stack, ifioctl.SIOCGIFNAME, _ifreq(b"", struct.pack("<i", 1)), False)
    assert name[:16].rstrip(b"\0") == b"lo"
    assert [e[:16].rstrip(b"\0") for e in ifioctl.ifconf_entries(stack)] == [b"lo", b"eth0"]
    with pytest.raises(KernelError) as e:
        ifioctl.ifreq(stack, ifioctl.SIOCGIFFLAGS, _ifreq(b"wlan0"), False)
    assert e.value.errno == ENODEV
    with pytest.raises(KernelError) as e:
        ifioctl.ifreq(stack, ifioctl.SIOCSIFFLAGS, _ifreq(b"eth0"), False)
    assert e.value.errno == EPERM


def test_forward_specs_and_publish_warns_on_busy_port(monkeypatch):
    assert parse_spec("0.0.0.0:8080:80/UDP") == ("0.0.0.0", 8080, 80, "udp")
    for bad in ("1.2.3:80:80", "80:0", "70000:80", "a:b", "1:2:3:4"):
        with pytest.raises(KernelError):
            parse_spec(bad)
    env = RealClock()

    class K:
        pass
    kernel = K()
    kernel.net = type("Svc", (), {"nat": env.nat, "stack": env.stack})()
    warnings = []
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        done = publish(kernel, [("127.0.0.1", port, 22, "tcp")], warnings.append,
                       defaults=[("127.0.0.1", port, 80, "tcp"), ("127.0.0.1", 0, 81, "udp")])
    assert len(warnings) == 1 and f"127.0.0.1:{port}/tcp to guest port 22" in warnings[0]
    assert [spec[2] for spec, _ in done] == [81]


def test_dns_upstream_from_resolv_conf(tmp_path, monkeypatch):
    monkeypatch.delenv("AKUMA_DNS_UPSTREAM", raising=False)
    conf = tmp_path / "resolv.conf"
    conf.write_text("# x\nsearch lan\nnameserver ::1\nnameserver 192.0.2.53\n")
    assert natudp.dns_upstream(str(conf)) == ("192.0.2.53", 53)
    assert natudp.dns_upstream(str(tmp_path / "missing")) is None
    monkeypatch.setenv("AKUMA_DNS_UPSTREAM", "127.0.0.1:5353")
    assert natudp.dns_upstream(str(conf)) == ("127.0.0.1", 5353)


def test_guest_udp_relay_dns_and_idle_expiry():
    env = RealClock()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as upstream:
        upstream.bind(("127.0.0.1", 0))
        env.nat.dns_upstream = upstream.getsockname()
        s = env.sock(O.SOCK_DGRAM)
        send(s, b"query", address=("10.0.2.3", 53))
        assert env.pump(lambda: False, 0.05) is False
        data, peer = upstream.recvfrom(100)
        assert data == b"query"
        upstream.sendto(b"answer", peer)
        got = []
        assert env.pump(lambda: got.append(_maybe(s)) or got[-1] is not None)
        assert got[-1] == (b"answer", ("10.0.2.3", 53))
        assert len(env.nat.udp_flows) == 1
        flow = next(iter(env.nat.udp_flows.values()))
        assert flow.deadline() == flow.expires
        flow.touch()
        flow.on_timer()                                 # early: used since, so re-armed
        assert env.nat.udp_flows and flow.expires == flow.last_used + natudp.DNS_IDLE
        flow.last_used -= natudp.DNS_IDLE + 1           # as if quiet for that long
        flow.expires = flow.last_used + natudp.DNS_IDLE
        env.stack._timers.clear()
        env.stack.schedule(flow)
        env.pump(lambda: not env.nat.udp_flows)
        assert env.nat.udp_flows == {} and flow.sock.fileno() == -1


def test_udp_to_closed_host_port_becomes_icmp_unreachable():
    env = RealClock()
    port = None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as gone:
        gone.bind(("127.0.0.1", 0))
        port = gone.getsockname()[1]
    s = env.sock(O.SOCK_DGRAM)
    s.connect(("10.0.2.2", port))
    send(s, b"anyone?")
    assert env.pump(lambda: s.error != 0)
    from akuma.abi.errors import ECONNREFUSED
    assert s.take_error() == ECONNREFUSED
    assert env.stack.stats.snmp["Icmp"]["InDestUnreachs"] == 1


def _maybe(s):
    try:
        data, msg = recv(s, 100)
    except KernelError:
        return None
    return data, msg.address


def test_malformed_udp_from_guest_is_dropped_and_counted():
    env = RealClock()
    frame = P.build_ethernet(b"\x52\x55\x0a\x00\x02\x02", env.stack.eth0.mac, P.ETH_P_IP,
                             P.build_ipv4(socket.inet_aton("10.0.2.15"), socket.inet_aton("10.0.2.2"),
                                          P.IPPROTO_UDP, b"\x00\x01\x00\x02\x00\x40\x00\x00"))
    env.nat.from_guest(frame)
    assert env.stack.stats.drops["nat_udp_len"] == 1 and env.nat.udp_flows == {}
