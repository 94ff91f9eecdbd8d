#!/usr/bin/env python3
"""Dump a GGUF header with Python `gguf` (GGUFReader) as golden JSON for tests/gguf_real_models.rs.

Usage: tools/golden/gguf_golden.py <model.gguf> <out.json>

Output (one metadata pair or tensor per line, so diffs stay readable):
  version, alignment, data_offset (GGUFReader.data_offset), file_size,
  metadata: [{key, type, value}] in file order; arrays carry elem_type and count, plus
    either all "values" (<= 64 elements) or "sha256", "head" (first 3) and "tail" (last 3);
  tensors: [{name, type (ggml spelling), shape (ne0 first), offset (relative to the data
    start), n_bytes}] in file order.

Canonical array serialisation (hashed with SHA-256; the Rust test computes the same): the
elements' own GGUF encoding, concatenated, without the array's type and count:
  integers, floats: little-endian at their GGUF width; bool: one byte 0 or 1;
  string: u64 little-endian byte length, then the UTF-8 bytes;
  array (nested): u32 element type id, u64 count, then its elements, recursively.
"""

import hashlib
import json
import os
import sys

import numpy as np
from gguf import GGUFReader, GGUFValueType

MAX_INLINE = 64
# Fields GGUFReader adds for the preamble; they are not metadata pairs.
PSEUDO_FIELDS = {"GGUF.version", "GGUF.tensor_count", "GGUF.kv_count"}
LE_DTYPES = {
    GGUFValueType.UINT8: "<u1", GGUFValueType.INT8: "<i1",
    GGUFValueType.UINT16: "<u2", GGUFValueType.INT16: "<i2",
    GGUFValueType.UINT32: "<u4", GGUFValueType.INT32: "<i4",
    GGUFValueType.UINT64: "<u8", GGUFValueType.INT64: "<i8",
    GGUFValueType.FLOAT32: "<f4", GGUFValueType.FLOAT64: "<f8",
    GGUFValueType.BOOL: "<u1",
}


def scalar(part, vtype):
    """A JSON-ready Python value for one parsed element (a 1-element numpy array)."""
    value = part.tolist()[0]
    if vtype == GGUFValueType.BOOL:
        return bool(value)
    return value


def array_entry(field):
    if len(field.types) != 2:
        raise NotImplementedError(f"{field.name}: nested arrays are not dumped")
    elem = field.types[1]
    parts = [field.parts[i] for i in field.data]
    if elem == GGUFValueType.STRING:
        values = [bytes(p).decode("utf-8") for p in parts]
        raw = b"".join(len(p.tobytes()).to_bytes(8, "little") + p.tobytes() for p in parts)
    else:
        values = [scalar(p, elem) for p in parts]
        raw = b"".join(np.asarray(p).astype(LE_DTYPES[elem]).tobytes() for p in parts)
    entry = {"key": field.name, "type": "ARRAY", "elem_type": elem.name, "count": len(values)}
    if len(values) <= MAX_INLINE:
        entry["values"] = values
    else:
        entry["sha256"] = hashlib.sha256(raw).hexdigest()
        entry["head"] = values[:3]
        entry["tail"] = values[-3:]
    return entry


def metadata_entry(field):
    vtype = field.types[0]
    if vtype == GGUFValueType.ARRAY:
        return array_entry(field)
    if vtype == GGUFValueType.STRING:
        value = bytes(field.parts[-1]).decode("utf-8")
    else:
        value = scalar(field.parts[-1], vtype)
    return {"key": field.name, "type": vtype.name, "value": value}


def tensor_entry(reader, t):
    return {
        "name": t.name,
        "type": t.tensor_type.name,
        "shape": [int(d) for d in t.shape],
        "offset": int(t.data_offset) - int(reader.data_offset),
        "n_bytes": int(t.n_bytes),
    }


def dump(path):
    reader = GGUFReader(path)
    fields = [f for name, f in reader.fields.items() if name not in PSEUDO_FIELDS]
    return {
        "file": os.path.basename(path),
        "file_size": os.path.getsize(path),
        "version": int(reader.fields["GGUF.version"].parts[0][0]),
        "alignment": int(reader.alignment),
        "data_offset": int(reader.data_offset),
        "metadata": [metadata_entry(f) for f in sorted(fields, key=lambda f: f.offset)],
        "tensors": [tensor_entry(reader, t) for t in reader.tensors],
    }


def write(doc, out):
    """JSON with one metadata pair or tensor per line."""
    line = lambda v: json.dumps(v, ensure_ascii=True, allow_nan=True)  # noqa: E731
    scalars = [f" {line(k)}: {line(v)}," for k, v in doc.items() if not isinstance(v, list)]
    lists = []
    for name in ("metadata", "tensors"):
        items = ",\n".join(f"  {line(item)}" for item in doc[name])
        lists.append(f" {line(name)}: [\n{items}\n ]")
    out.write("{\n" + "\n".join(scalars) + "\n" + ",\n".join(lists) + "\n}\n")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    doc = dump(sys.argv[1])
    with open(sys.argv[2], "w", encoding="ascii") as out:
        write(doc, out)


if __name__ == "__main__":
    main()
