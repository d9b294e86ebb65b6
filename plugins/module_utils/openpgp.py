# -*- coding: utf-8 -*-
# Copyright: (c) 2026, frontier.llm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""OpenPGP public keys: the fingerprint of each primary key in a key file, without gpg.

Plain Python with no Ansible import. RFC 9580: a version 4 key's fingerprint is the SHA-1 of 0x99, the
public-key packet's two-octet length and its body (section 5.5.4.2); a version 6 key's is the SHA-256 of
0x9B, a four-octet length and the body (section 5.5.4.3). Packets are read in both the old and the new
header formats (section 4.2). Armored files (section 6) are decoded first.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from typing import Iterator, List, Tuple

PUBLIC_KEY = 6
_FINGERPRINT_RE = re.compile(r"^[0-9A-F]{40}([0-9A-F]{24})?$")


class OpenPGPError(ValueError):
    """A key file that cannot be read as OpenPGP."""


def normalize(fingerprint: str) -> str:
    """A fingerprint without spaces, in upper case; raise when it is not 40 or 64 hexadecimal digits."""
    value = re.sub(r"\s+", "", str(fingerprint)).upper()
    if not _FINGERPRINT_RE.match(value):
        raise OpenPGPError("%r is not an OpenPGP fingerprint (40 or 64 hexadecimal digits)" % (fingerprint,))
    return value


def dearmor(data: bytes) -> bytes:
    """The binary packets of an armored key file; a binary file is returned as it is."""
    text = data.decode("ascii", errors="replace")
    if "-----BEGIN PGP PUBLIC KEY BLOCK-----" not in text:
        return data
    body = text.split("-----BEGIN PGP PUBLIC KEY BLOCK-----", 1)[1].split("-----END PGP PUBLIC KEY BLOCK-----", 1)[0]
    lines = body.strip().splitlines()
    # Armor headers end at the first empty line; the CRC line starts with "=".
    if any(not line.strip() for line in lines):
        lines = lines[[i for i, line in enumerate(lines) if not line.strip()][0] + 1:]
    payload = "".join(line.strip() for line in lines if line.strip() and not line.startswith("="))
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as err:
        raise OpenPGPError("the armored key is not valid base64: %s" % err) from None


def packets(data: bytes) -> Iterator[Tuple[int, bytes]]:
    """(tag, body) of each packet."""
    pos = 0
    while pos < len(data):
        header = data[pos]
        if not header & 0x80:
            raise OpenPGPError("byte %d is not a packet header" % pos)
        if header & 0x40:  # new format
            tag = header & 0x3F
            first = data[pos + 1]
            if first < 192:
                length, pos = first, pos + 2
            elif first < 224:
                length, pos = ((first - 192) << 8) + data[pos + 2] + 192, pos + 3
            elif first == 255:
                length, pos = int.from_bytes(data[pos + 2:pos + 6], "big"), pos + 6
            else:
                raise OpenPGPError("partial body lengths do not occur in key files")
        else:  # old format
            tag, kind = (header >> 2) & 0x0F, header & 0x03
            size = {0: 1, 1: 2, 2: 4}.get(kind)
            if size is None:
                raise OpenPGPError("indeterminate packet lengths do not occur in key files")
            length, pos = int.from_bytes(data[pos + 1:pos + 1 + size], "big"), pos + 1 + size
        if pos + length > len(data):
            raise OpenPGPError("a packet runs past the end of the file")
        yield tag, data[pos:pos + length]
        pos += length


def fingerprints(data: bytes) -> List[str]:
    """The fingerprints of the primary keys in a key file (armored or binary)."""
    found: List[str] = []
    for tag, body in packets(dearmor(data)):
        if tag != PUBLIC_KEY or not body:
            continue
        if body[0] == 4:
            found.append(hashlib.sha1(b"\x99" + len(body).to_bytes(2, "big") + body).hexdigest().upper())
        elif body[0] == 6:
            found.append(hashlib.sha256(b"\x9b" + len(body).to_bytes(4, "big") + body).hexdigest().upper())
        else:
            raise OpenPGPError("public key version %d is not supported (4 and 6 are)" % body[0])
    if not found:
        raise OpenPGPError("no public key in the file")
    return found
