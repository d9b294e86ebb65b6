"""Verify linux_tuning on a real kernel (the QEMU VM with two NUMA nodes)."""

from __future__ import annotations

testinfra_hosts = ["ansible://all"]


def test_sysctl_live(host) -> None:
    assert host.check_output("sysctl -n vm.max_map_count") == "262144"
    assert host.check_output("sysctl -n vm.swappiness") == "10"
    assert host.check_output("sysctl -n kernel.numa_balancing") == "0"


def test_sysctl_file_holds_them(host) -> None:
    conf = host.file("/etc/sysctl.d/60-frontier-llm.conf").content_string
    for line in ("vm.max_map_count=262144", "vm.swappiness=10", "kernel.numa_balancing=0"):
        assert line in conf.replace(" ", "")


def test_two_numa_nodes_and_numactl(host) -> None:
    assert len(host.run("ls -d /sys/devices/system/node/node[0-9]*").stdout.split()) == 2
    assert host.package("numactl").is_installed
    assert "available: 2 nodes" in host.check_output("numactl --hardware")


def test_swap_file_active_and_persistent(host) -> None:
    swaps = host.file("/proc/swaps").content_string
    assert "/swapfile " in swaps or "/swapfile\t" in swaps
    assert "/swapfile none swap sw 0 0" in host.file("/etc/fstab").content_string
    assert host.file("/swapfile").mode == 0o600


def test_sleep_targets_masked(host) -> None:
    assert host.run("systemctl is-enabled suspend.target").stdout.strip() == "masked"
