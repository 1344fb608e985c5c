"""Hostile files: each written once into a directory the whole table shares."""

from __future__ import annotations

import os
import random
from pathlib import Path

LOL = "\n".join(
    [
        'a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]',
        *(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)),
    ]
)


def _deep_block(levels: int) -> str:
    return "".join(f"{'  ' * level}k{level}:\n" for level in range(levels)) + "  " * levels + "x"


# name -> content; each is written as <name>.yaml. The YAML-content ones are refused with
# the file and a line; the others (size, encoding) with the file.
CONTENT: dict[str, bytes] = {
    "empty": b"",
    "blank": b"   \n\n\t\n",
    "billion_laughs": LOL.encode(),
    "recursive_alias": b"a: &a [*a]\n",
    "undefined_alias": b"a: *nowhere\n",
    "deep_flow": b"a: " + b"[" * 5000 + b"]" * 5000,
    "deep_block": _deep_block(200).encode(),
    "deep_flow_mapping": b"a: " + b"{b: " * 3000 + b"1" + b"}" * 3000,
    "many_values": b"a:\n" + b"- 1\n" * 25_000,
    "python_tag": b'id: !!python/object/apply:os.system ["echo pwned"]\n',
    "python_name_tag": b"id: !!python/name:os.system\n",
    "custom_tag": b"id: !shout loud\n",
    "binary_tag": b"id: !!binary aGVsbG8=\n",
    "set_tag": b"a: !!set {x, y}\n",
    "omap_tag": b"a: !!omap [x: 1]\n",
    "merge_key": b"base: &b {a: 1}\nother:\n  <<: *b\n",
    "complex_key": b"? [a, b]\n: 1\n",
    "mapping_key": b"? {a: 1}\n: 1\n",
    "huge_int": b"a: " + b"9" * 5000 + b"\n",
    "impossible_date": b"a: 2024-13-45\n",
    "tabs": b"a:\n\tb: 1\n",
    "unclosed": b"a: [1, 2\n",
    "bad_indent": b"a:\n  b: 1\n c: 2\n",
    "top_level_list": b"- a\n- b\n",
    "top_level_scalar": b"just some text\n",
    "multi_document": b"a: 1\n---\nb: 2\n",
    "latin1": b"id: caf\xe9\n",
    "utf16": "id: x\n".encode("utf-16"),
    "nul_byte": b"id: x\x00y\n",
    "random_binary": random.Random(12).randbytes(4096),
    "png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64),
    "elf": b"\x7fELF\x02\x01\x01" + bytes(120),
    "over_the_limit": b"# padding\n" * 100_001,
    "long_scalar": b"id: " + b"x" * 900_000 + b"\n",
    "bom_then_junk": "\ufeffid: [\n".encode(),
    "control_chars": b"id: \x1b[31mred\x07\n",
    "lone_surrogate": b"id: \xed\xa0\x80\n",
}
SPECIAL = ["dev_zero", "big_50mb", "directory", "fifo", "missing", "symlink_loop", "dev_null"]
NAMES = [*CONTENT, *SPECIAL]


def write_files(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in CONTENT.items():
        (directory / f"{name}.yaml").write_bytes(content)
    with (directory / "big_50mb.yaml").open("wb") as file:
        file.truncate(50_000_000)  # sparse: 50 MB to read, nothing to write
    (directory / "directory.yaml").mkdir(exist_ok=True)
    fifo = directory / "fifo.yaml"
    if not fifo.exists():
        os.mkfifo(fifo)  # no writer ever comes: opening it must not wait
    loop = directory / "symlink_loop.yaml"
    if not loop.is_symlink():
        loop.symlink_to(loop)
    for device in ("zero", "null"):
        link = directory / f"dev_{device}.yaml"
        if not link.is_symlink():
            link.symlink_to(f"/dev/{device}")


def path_of(name: str) -> str:
    return "{files}/" + f"{name}.yaml"
