"""Verify linux_tuning on Debian 12 (swap off, governor and stay-awake turned off) and 13 (swap file, governor)."""

from __future__ import annotations

import pytest

testinfra_hosts = ["ansible://all"]

SYSCTL_FILE = "/etc/sysctl.d/60-frontier-llm.conf"


# The live kernel values are not checked here: a container shares the kernel of the machine running the tests,
# so any comparison would hold whatever the role did (converge.yml asserts the role reported the skip). The
# linux_vm scenario checks them on a kernel of its own.


def test_sysctl_file(host) -> None:
    conf = host.file(SYSCTL_FILE)
    assert conf.exists and conf.mode == 0o644
    lines = {line.split("=")[0].strip(): line.split("=")[1].strip()
             for line in conf.content_string.splitlines() if "=" in line and not line.startswith("#")}
    assert lines == {"vm.max_map_count": "262144", "vm.swappiness": "10", "vm.overcommit_memory": "0"}


def test_sysctl_not_appended_to_sysctl_conf(host) -> None:
    sysctl_conf = host.file("/etc/sysctl.conf")
    assert not sysctl_conf.exists or "max_map_count" not in sysctl_conf.content_string


SLEEP_TARGETS = ("sleep.target", "suspend.target", "hibernate.target", "hybrid-sleep.target")
GOVERNOR_UNIT = "/etc/systemd/system/frontier-llm-cpu-governor.service"


def test_sleep_targets_masked_or_unmasked_again(host) -> None:
    # Debian 12's were masked by an earlier run (prepare.yml); linux_tuning_stay_awake: false unmasks them.
    want_masked = host.backend.get_hostname() == "frontier-debian13"
    for target in SLEEP_TARGETS:
        state = host.run("systemctl is-enabled %s" % target).stdout.strip()
        assert (state == "masked") == want_masked, (target, state)


def test_governor_unit_written_or_removed(host) -> None:
    unit = host.file(GOVERNOR_UNIT)
    if host.backend.get_hostname() == "frontier-debian13":
        assert "echo performance >" in unit.content_string
        assert host.run("systemctl is-enabled frontier-llm-cpu-governor.service").stdout.strip() == "enabled"
    else:  # written and enabled by an earlier run (prepare.yml); linux_tuning_cpu_governor: null removes it
        assert not unit.exists
        assert not host.file("/etc/systemd/system/multi-user.target.wants/frontier-llm-cpu-governor.service").exists
        assert "frontier-llm-cpu-governor" not in host.check_output("systemctl list-unit-files --no-legend")


def test_no_numa_work_on_a_single_node_host(host) -> None:
    nodes = host.run("ls -d /sys/devices/system/node/node[0-9]*").stdout.split()
    if len(nodes) != 1:
        pytest.skip("the machine running the containers has %d NUMA nodes; the linux_vm scenario tests that case" % len(nodes))
    assert not host.package("numactl").is_installed


def test_swap_policy_persistent_part(host) -> None:
    fstab = host.file("/etc/fstab").content_string
    name = host.backend.get_hostname()
    if name == "frontier-debian12":  # swap off
        assert "# UUID=0a0b0c0d-0000-4000-8000-000000000001 none swap sw 0 0" in fstab
        active = [line for line in fstab.splitlines() if " swap " in line and not line.lstrip().startswith("#")]
        assert active == []
    else:  # swap file, left zero-filled and unformatted by a run that died (prepare.yml)
        swapfile = host.file("/swapfile")
        assert swapfile.size == 64 * 1024 * 1024 and swapfile.mode == 0o600 and swapfile.user == "root"
        assert host.check_output("dd if=/swapfile bs=1 skip=4086 count=10 status=none") == "SWAPSPACE2"
        assert host.check_output("blkid --probe --output value --match-tag TYPE /swapfile") == "swap"
        assert "/swapfile none swap sw 0 0" in fstab
        # the live swapon was skipped: it would have acted on the host's kernel
        assert "/swapfile" not in host.file("/proc/swaps").content_string
