"""Shared by the tokenizer fixture scripts: reading corpus.bin and hashing id lists."""
import hashlib, struct
from pathlib import Path


def documents(path):
    """The corpus documents (u32 LE length + UTF-8 records) and the file's SHA-256."""
    data = Path(path).read_bytes()
    docs, i = [], 0
    while i < len(data):
        (n,) = struct.unpack_from("<I", data, i)
        docs.append(data[i + 4:i + 4 + n].decode("utf-8"))
        i += 4 + n
    return docs, hashlib.sha256(data).hexdigest()


def fnv1a64(ids):
    """FNV-1a 64 over the ids as little-endian int32 (Tests/LoomTokenizerTests/Fixtures.swift)."""
    h = 0xCBF29CE484222325
    for b in struct.pack(f"<{len(ids)}i", *ids):
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h
