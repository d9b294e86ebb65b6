# -*- coding: utf-8 -*-
# Copyright: (c) 2026, frontier.llm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""OpenPGP public keys: the fingerprint of each primary key in a key file, without gpg.

Plain Python with no Ansible import. RFC 9580: a version 4 key's fingerprint is the SHA-1 of 0x99, the
public-key packet's two-octet length and its body (section 5.5.4.2); a version 6 key's is the SHA-256 of
0x9B, a four-octet length and the body (section 5.5.4.3). Packets are read in both the old and the new
header formats (section 4.2). Armored files (section 6) are decoded first, and must hold one armored block and
nothing else: every key of a file is trusted by apt, so the caller must see every one (:func:`fingerprints`).
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


BEGIN = "-----BEGIN PGP PUBLIC KEY BLOCK-----"
END = "-----END PGP PUBLIC KEY BLOCK-----"
# The armor's checksum line (RFC 9580 section 6.1): "=" and four base64 characters, last in the block.
_CRC_RE = re.compile(r"^=[A-Za-z0-9+/]{4}$")
# What may surround the one armored block: white space, as gpg itself writes around it.
_WHITESPACE = " \t\r\n"
# Packets that carry a key the file's reader would take as a primary key: a secret key holds its public key.
SECRET_KEY, SECRET_SUBKEY = 5, 7


def dearmor(data: bytes) -> bytes:
    """The binary packets of an armored key file; a binary file is returned as it is.

    An armored file holds one ``PUBLIC KEY BLOCK`` and nothing but white space around it: gpg and apt read every
    block of a file (and binary packets beside one), so a second block, or packets before or after it, would add
    keys that a reader of the first block alone never sees.
    """
    text = data.decode("ascii", errors="replace")
    start = text.find(BEGIN)
    if start < 0:
        return data
    if text[:start].strip(_WHITESPACE):
        raise OpenPGPError("the file holds something before the armored key (%d characters that are not white space); "
                           "a key file must hold one armored key and nothing else" % len(text[:start].strip(_WHITESPACE)))
    end = text.find(END, start)
    if end < 0:
        raise OpenPGPError("the armored key has no END line (%s): the file is cut short" % END)
    after = text[end + len(END):].strip(_WHITESPACE)
    if after:
        what = "another armored block" if "-----BEGIN " in after else "%d characters that are not white space" % len(after)
        raise OpenPGPError("the file holds something after the armored key (%s); a key file must hold one armored key "
                           "and nothing else, since every key in it would be trusted" % what)
    lines = [line.strip(_WHITESPACE) for line in text[start + len(BEGIN):end].splitlines()]
    if not lines or lines[0]:
        raise OpenPGPError("the armored key's BEGIN line (%s) must stand alone on its line" % BEGIN)
    lines = lines[1:]
    # Armor headers ("Comment: ...") end at the first empty line; the checksum line, if any, comes last.
    if "" in lines:
        lines = lines[lines.index("") + 1:]
    lines = [line for line in lines if line]
    if lines and _CRC_RE.match(lines[-1]):
        lines = lines[:-1]
    try:
        return base64.b64decode("".join(lines), validate=True)
    except (binascii.Error, ValueError) as err:
        raise OpenPGPError("the armored key is not valid base64: %s" % err) from None


def packets(data: bytes) -> Iterator[Tuple[int, bytes]]:
    """(tag, body) of each packet; raise :class:`OpenPGPError` for a header or a body cut short."""
    pos = 0
    while pos < len(data):
        header = data[pos]
        if not header & 0x80:
            raise OpenPGPError("byte %d is not a packet header" % pos)
        if header & 0x40:  # new format: a one-, two- or five-octet length after the tag
            tag = header & 0x3F
            if pos + 2 > len(data):
                raise OpenPGPError("the header of the packet at byte %d is cut short" % pos)
            first = data[pos + 1]
            if first < 192:
                size = 0
            elif first < 224:
                size = 1
            elif first == 255:
                size = 4
            else:
                raise OpenPGPError("partial body lengths do not occur in key files")
            if pos + 2 + size > len(data):
                raise OpenPGPError("the header of the packet at byte %d is cut short" % pos)
            if size == 0:
                length = first
            elif size == 1:
                length = ((first - 192) << 8) + data[pos + 2] + 192
            else:
                length = int.from_bytes(data[pos + 2:pos + 6], "big")
            pos += 2 + size
        else:  # old format: a one-, two- or four-octet length after the tag
            tag, kind = (header >> 2) & 0x0F, header & 0x03
            size = {0: 1, 1: 2, 2: 4}.get(kind)
            if size is None:
                raise OpenPGPError("indeterminate packet lengths do not occur in key files")
            if pos + 1 + size > len(data):
                raise OpenPGPError("the header of the packet at byte %d is cut short" % pos)
            length, pos = int.from_bytes(data[pos + 1:pos + 1 + size], "big"), pos + 1 + size
        if pos + length > len(data):
            raise OpenPGPError("a packet runs past the end of the file")
        yield tag, data[pos:pos + length]
        pos += length


def fingerprints(data: bytes) -> List[str]:
    """The fingerprints of the primary keys in a key file (armored or binary)."""
    found: List[str] = []
    for tag, body in packets(dearmor(data)):
        if tag in (SECRET_KEY, SECRET_SUBKEY):
            raise OpenPGPError("the file holds a secret key (packet tag %d): a public key file must not" % tag)
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
