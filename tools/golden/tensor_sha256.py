#!/usr/bin/env python3
"""SHA-256 over the bytes of every tensor of a GGUF file, in the order its tensor infos are listed
(the reference for `tools/dev/run.mjs --verify`), using Python `gguf` to find where each tensor is.

    python3 tools/golden/tensor_sha256.py <file.gguf>
"""

import hashlib
import sys

from gguf import GGUFReader


def tensor_sha256(path: str) -> str:
    reader = GGUFReader(path)
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for t in reader.tensors:
            f.seek(t.data_offset)
            left = int(t.n_bytes)
            while left:
                piece = f.read(min(left, 16 << 20))
                if not piece:
                    raise SystemExit(f"{path}: tensor {t.name} runs past the end of the file")
                digest.update(piece)
                left -= len(piece)
    return digest.hexdigest()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    print(tensor_sha256(sys.argv[1]))
