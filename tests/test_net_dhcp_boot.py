"""A booted system's eth0 is configured by DHCP from the user-mode NAT."""
import pytest

import sysimage
from harness import run_akuma, test_env


@pytest.fixture
def image(tmp_path):
    return sysimage.fresh_copy(tmp_path / "root.img")


def test_boot_configures_eth0_by_dhcp(image):
    got = run_akuma("--image", image, "-c",
                    "ifconfig eth0; cat /proc/net/route", timeout=300,
                    env=test_env(TERM="dumb"))
    out, err = got.stdout.decode(), got.stderr.decode()
    assert got.returncode == 0, err
    assert "inet addr:10.0.2.15" in out and "Mask:255.255.255.0" in out, out
    # the boot log shows the lease, not the static fallback
    assert "dhcp: eth0 10.0.2.15/24 via 10.0.2.2, dns 10.0.2.3, lease 86400s" in err, err
    assert "no answer" not in err
    # default route through the gateway the ACK named (little-endian hex)
    routes = [line.split() for line in out.splitlines() if line.startswith("eth0")]
    assert ["eth0", "00000000", "0202000A"] in [r[:3] for r in routes], out


def test_busybox_udhcpc_gets_the_lease_from_the_nat(image):
    """udhcpc speaks DHCP over AF_PACKET (SOCK_DGRAM, ETH_P_IP) sockets on
    eth0 and reaches the NAT's server like QEMU's slirp."""
    got = run_akuma("-q", "--image", image, "-c", "udhcpc -i eth0 -n -q; echo rc=$?",
                    timeout=300, env=test_env(TERM="dumb"))
    out = got.stdout.decode() + got.stderr.decode()
    assert got.returncode == 0, out
    assert "broadcasting discover" in out
    assert "lease of 10.0.2.15 obtained from 10.0.2.2, lease time 86400" in out, out
    assert "rc=0" in out
