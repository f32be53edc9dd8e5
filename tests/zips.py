"""
Zip archives the standard library cannot write, for the importers' error paths.
"""

from __future__ import annotations

import struct
import zipfile

from pathlib import Path


def zip_encrypted(files: list[Path], target: Path) -> Path:
    """
    Zip *files* into *target*, with every member marked encrypted (as ``zip -P`` would).

    `zipfile` writes no encrypted archives; it reads one by its flag bits, so
    setting bit 0 in each local and central header is enough for it to ask
    for a password.
    """
    with zipfile.ZipFile(target, "w") as zf:
        for file in files:
            zf.write(file, file.name)
    data = bytearray(target.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = data.find(signature)
        while start != -1:
            (flags,) = struct.unpack_from("<H", data, start + offset)
            struct.pack_into("<H", data, start + offset, flags | 0x1)
            start = data.find(signature, start + 4)
    target.write_bytes(bytes(data))
    return target
