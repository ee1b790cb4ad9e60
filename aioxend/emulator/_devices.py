"""Devices of a domain: attach, configure, detach, and their xenstore view.

``XendDomainInfo``'s device operations and XendConfig's device checks: block devices are
numbered by ``blkif_name_to_number`` (``blkdev_number``), other classes count from 0; a
vif gets a MAC, every device a uuid and backend 0. PCI devices must be among the host's
assignable ones and not given to another domain.
"""

from __future__ import annotations

import re

from aioxend.emulator._args import config_pairs
from aioxend.emulator._errors import VmError, XendError
from aioxend.emulator._hoststate import HostState
from aioxend.emulator._records import Device, Domain, Sxpr, rand_uuid, random_mac

__all__ = ["BLOCK_CLASSES", "VALID_DEVICES", "DeviceOps", "blkdev_number"]

VALID_DEVICES = (
    "console",
    "ioports",
    "irq",
    "pci",
    "tap",
    "tap2",
    "vbd",
    "vfb",
    "vif",
    "vkbd",
    "vscsi",
    "vtpm",
    "vusb",
)
BLOCK_CLASSES = ("vbd", "tap", "tap2")
_MAC_RE = re.compile(r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$", re.I)


def blkdev_number(name: object) -> int | None:
    """xend's ``blkif_name_to_number``: ``xvdb`` → 51728, ``hda`` → 768, ``sdb`` → 2064."""
    if isinstance(name, int) and not isinstance(name, bool):
        return name
    text = str(name).split(":")[0]
    if text.isdigit():
        return int(text)
    match = re.fullmatch(r"(xvd|sd|hd)([a-z]+)(\d*)", text)
    if not match:
        return None
    kind, letters, part = match.groups()
    index = 0
    for letter in letters:
        index = index * 26 + (ord(letter) - ord("a") + 1)
    index -= 1
    partition = int(part) if part else 0
    if kind == "xvd":
        return (202 << 8) | (index << 4) | partition
    if kind == "sd":
        return (8 << 8) | (index << 4) | partition
    majors = (3, 22, 33, 34, 56, 57, 88, 89, 90, 91)
    if index >= 2 * len(majors):
        return None
    return (majors[index // 2] << 8) | ((index % 2) << 6) | partition


class DeviceOps(HostState):
    """``XendDomainInfo.device_*``, ``destroyDevice`` and ``getDeviceSxprs``."""

    def _attach(self, dom: Domain, cls: str, config: list[list[object]]) -> Device:
        config = [list(item) for item in config]
        keys = {item[0] for item in config if item}
        if cls in BLOCK_CLASSES:
            devid = blkdev_number(next((i[1] for i in config if i[0] == "dev"), None))
            if devid is None:
                raise VmError("Block device must have virtual details specified")
        elif cls in ("console", "vfb", "vkbd", "pci", "vusb", "vscsi", "vtpm"):
            devid = 0
            taken = {d.devid for d in dom.devices if d.cls == cls}
            while devid in taken:
                devid += 1
        else:
            taken = {d.devid for d in dom.devices if d.cls == cls}
            devid = 0
            while devid in taken:
                devid += 1
        if any(d.devid == devid and d.cls in (cls, *BLOCK_CLASSES) for d in dom.devices) and (
            cls in BLOCK_CLASSES
        ):
            raise VmError(f"Device {devid} is already connected.")
        if cls == "vif" and "mac" not in keys:
            config.append(["mac", random_mac(self.rng)])
        if "uuid" not in keys and cls not in ("vkbd",):
            config.append(["uuid", rand_uuid(self.rng)])
        if "backend" not in keys:
            config.append(["backend", 0])
        device = Device(cls, devid, config)
        dom.devices.append(device)
        return device

    def _device_from_config(self, dom: Domain, dev_config: object) -> Device:
        if not isinstance(dev_config, list) or not dev_config:
            raise VmError(f"Invalid device configuration: {dev_config!s}")
        dev_type = dev_config[0]
        if dev_type not in VALID_DEVICES:
            raise VmError(f"XendConfig: {dev_type} not a valid device type")
        config = config_pairs(dev_config)
        if dev_type == "vif":
            for item in config:
                if item[0] == "mac" and (len(item) < 2 or not _MAC_RE.match(str(item[1]))):
                    raise VmError(
                        "Cannot create a new virtual network interface - MAC address is not valid!"
                    )
        if dev_type == "pci":
            self._check_pci(dom, config)
        return self._attach(dom, str(dev_type), config)

    def _pci_bdfs(self, config: list[list[object]]) -> list[tuple[int, int, int, int]]:
        found = []
        for item in config:
            if item[0] != "dev":
                continue
            fields = {str(p[0]): p[1] for p in item[1:] if isinstance(p, list) and len(p) > 1}
            try:
                found.append(
                    (
                        int(str(fields.get("domain", "0")), 16),
                        int(str(fields["bus"]), 16),
                        int(str(fields["slot"]), 16),
                        int(str(fields["func"]), 16),
                    )
                )
            except (KeyError, ValueError):
                raise VmError("pci: failed to parse the device description") from None
        return found

    def _assigned_pci(self) -> set[tuple[int, int, int, int]]:
        assigned: set[tuple[int, int, int, int]] = set()
        for d in self.list_domains("all"):
            for dev in d.devices:
                if dev.cls == "pci":
                    assigned.update(self._pci_bdfs(dev.config))
        return assigned

    def _check_pci(self, dom: Domain, config: list[list[object]]) -> None:
        for bdf in self._pci_bdfs(config):
            name = "{:04x}:{:02x}:{:02x}.{:x}".format(*bdf)
            if bdf not in self.pci_assignable:
                raise VmError(f"pci: PCI Backend and pci-stub don't own device {name}")
            if bdf in self._assigned_pci():
                raise VmError(
                    f"failed to assign device {name} that has already been assigned to "
                    "other domain."
                )

    def device_create(self, dom: Domain, dev_config: object) -> Sxpr:
        """``XendDomainInfo.device_create``: ``[class, ['dom', domid, 'id', devid]]``."""
        device = self._device_from_config(dom, dev_config)
        devid = device.devid if dom.active else None
        return [device.cls, ["dom", dom.domid, "id", devid]]

    def _find_device(self, dom: Domain, cls: object, devid: object) -> Device | None:
        number = blkdev_number(devid) if cls in BLOCK_CLASSES else None
        if number is None:
            try:
                number = int(str(devid))
            except ValueError:
                number = None
        for dev in dom.devices:
            if dev.cls != cls and not (cls in BLOCK_CLASSES and dev.cls in BLOCK_CLASSES):
                continue
            if number is not None and dev.devid == number:
                return dev
            if cls == "vif" and dev.get("mac") == devid:
                return dev
        return None

    def device_configure(self, dom: Domain, dev_sxp: object, devid: object = None) -> bool:
        """``XendDomainInfo.device_configure``: change a device's settings (CD media...)."""
        if not isinstance(dev_sxp, list) or not dev_sxp:
            raise VmError(f"Invalid device configuration: {dev_sxp!s}")
        cls = dev_sxp[0]
        config = config_pairs(dev_sxp)
        if devid is None:
            devid = next((i[1] for i in config if i[0] == "dev" and len(i) > 1), None)
        if cls == "pci":
            state = next((i[1] for i in config if i[0] == "state" and len(i) > 1), None)
            if state == "Closing":
                for dev in list(dom.devices):
                    if dev.cls == "pci" and set(self._pci_bdfs(dev.config)) & set(
                        self._pci_bdfs(config)
                    ):
                        dom.devices.remove(dev)
                        return True
                raise VmError("pci: device is not attached to the domain")
            self._device_from_config(dom, dev_sxp)
            return True
        device = self._find_device(dom, cls, devid)
        if device is None:
            raise VmError(f"Device {devid} not connected")
        for item in config:
            if len(item) > 1 and item[0] not in ("uuid", "backend"):
                device.set(str(item[0]), item[1])
        return True

    def destroyDevice(
        self, dom: Domain, cls: object, devid: object, force: object = False, rm_cfg: object = False
    ) -> None:
        """``XendDomainInfo.destroyDevice``: detach (and forget) the device."""
        if cls not in VALID_DEVICES:
            raise XendError(f"Unknown device type: {cls}")
        device = self._find_device(dom, cls, devid)
        if device is None:
            raise VmError(f"Device {devid} not connected")
        dom.devices.remove(device)
        return None

    def getDeviceSxprs(self, dom: Domain, cls: object) -> list[object]:
        """``XendDomainInfo.getDeviceSxprs``: xenstore frontends, or the config if halted."""
        if cls not in VALID_DEVICES:
            raise XendError(f"Unknown device type: {cls}")
        devices = [d for d in dom.devices if d.cls == cls]
        if not dom.active:
            return [[n, dev.sxpr()] for n, dev in enumerate(devices)]
        out: list[object] = []
        for dev in devices:
            backend = f"/local/domain/0/backend/{cls}/{dom.domid}/{dev.devid}"
            front: list[object] = [
                ["backend-id", "0"],
                ["state", "4"],
                ["backend", backend],
            ]
            if cls in BLOCK_CLASSES:
                kind = str(dev.get("dev", "")).partition(":")[2] or "disk"
                front += [
                    ["virtual-device", str(dev.devid)],
                    ["device-type", kind],
                    ["ring-ref", str(8 + dev.devid % 7)],
                    ["event-channel", str(10 + dev.devid % 5)],
                    ["protocol", "x86_64-abi"],
                ]
            elif cls == "vif":
                front += [
                    ["mac", str(dev.get("mac", ""))],
                    ["handle", str(dev.devid)],
                    ["tx-ring-ref", str(768 + dev.devid)],
                    ["rx-ring-ref", str(769 + dev.devid)],
                    ["event-channel", str(12 + dev.devid)],
                    ["request-rx-copy", "1"],
                    ["feature-rx-notify", "1"],
                ]
            out.append([dev.devid, front])
        return out

    def getBlockDeviceClass(self, dom: Domain, devid: object) -> str | None:
        """``XendDomainInfo.getBlockDeviceClass``: ``vbd``, ``tap`` or ``tap2``."""
        number = blkdev_number(devid)
        for dev in dom.devices:
            if dev.cls in BLOCK_CLASSES and dev.devid == number:
                return dev.cls
        return None
