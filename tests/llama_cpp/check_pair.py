#!/usr/bin/env python3
"""Checks an `imp convert --llama-cpp` pair against llama.cpp's own tables and
reader, the `gguf` package on PyPI (llama.cpp's gguf-py):

- both files parse with gguf.GGUFReader;
- every tensor name is one llama.cpp's MODEL_TENSORS allows for the file's
  architecture (phi2 for the text file, the mmproj's "clip");
- the keys llama.cpp reads for those architectures are present with the right
  types, and clip.projector_type is "mlp".

Writes a summary (names, shapes, ggml types, keys) as JSON to --summary, which
the Rust test `llama_cpp_pair_matches_the_checked_summary` compares with what
the converter writes today, so CI needs no Python.

Usage: python tests/llama_cpp/check_pair.py TEXT.gguf MMPROJ.gguf --summary OUT.json
"""

import argparse
import json
import re

import gguf
from gguf.constants import MODEL_ARCH, MODEL_TENSORS, TENSOR_NAMES


def allowed_patterns(arch):
    pats = []
    for t in MODEL_TENSORS[arch]:
        name = TENSOR_NAMES[t].replace(".", r"\.").replace("{bid}", r"\d+")
        pats.append(re.compile(rf"^{name}\.(weight|bias)$"))
    return pats


def check(path, arch, arch_name, required):
    reader = gguf.GGUFReader(path)
    fields = {k: f for k, f in reader.fields.items()}
    got_arch = bytes(fields["general.architecture"].parts[-1]).decode()
    assert got_arch == arch_name, f"{path}: architecture {got_arch}"
    pats = allowed_patterns(arch)
    tensors = []
    for t in reader.tensors:
        assert any(p.match(t.name) for p in pats), f"{path}: {t.name} is not a llama.cpp {arch_name} tensor"
        tensors.append({"name": t.name, "shape": [int(d) for d in t.shape], "type": t.tensor_type.name})
    keys = {}
    for key, kind in required.items():
        assert key in fields, f"{path}: missing {key}"
        f = fields[key]
        types = [gguf.GGUFValueType(t).name for t in f.types]
        assert types[0] == kind, f"{path}: {key} is {types}, llama.cpp reads {kind}"
        keys[key] = types
    return {"architecture": got_arch, "tensors": tensors, "keys": keys}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("text")
    ap.add_argument("mmproj")
    ap.add_argument("--summary", required=True)
    a = ap.parse_args()
    text = check(a.text, MODEL_ARCH.PHI2, "phi2", {
        "phi2.context_length": "UINT32", "phi2.embedding_length": "UINT32",
        "phi2.feed_forward_length": "UINT32", "phi2.block_count": "UINT32",
        "phi2.attention.head_count": "UINT32", "phi2.attention.layer_norm_epsilon": "FLOAT32",
        "phi2.rope.dimension_count": "UINT32", "general.file_type": "UINT32",
        "tokenizer.ggml.model": "STRING", "tokenizer.ggml.tokens": "ARRAY",
        "tokenizer.ggml.merges": "ARRAY", "tokenizer.ggml.token_type": "ARRAY",
        "tokenizer.ggml.eos_token_id": "UINT32",
    })
    mmproj = check(a.mmproj, MODEL_ARCH.MMPROJ, "clip", {
        "clip.has_vision_encoder": "BOOL", "clip.has_llava_projector": "BOOL",
        "clip.projector_type": "STRING", "clip.vision.image_size": "UINT32",
        "clip.vision.patch_size": "UINT32", "clip.vision.embedding_length": "UINT32",
        "clip.vision.feed_forward_length": "UINT32", "clip.vision.projection_dim": "UINT32",
        "clip.vision.block_count": "UINT32", "clip.vision.attention.head_count": "UINT32",
        "clip.vision.attention.layer_norm_epsilon": "FLOAT32", "clip.vision.image_mean": "ARRAY",
        "clip.vision.image_std": "ARRAY", "clip.use_gelu": "BOOL",
    })
    proj = gguf.GGUFReader(a.mmproj).fields["clip.projector_type"]
    assert bytes(proj.parts[-1]).decode() == "mlp"
    names = {t["name"] for t in mmproj["tensors"]}
    assert {"mm.0.weight", "mm.2.weight", "v.patch_embd.weight", "v.position_embd.weight"} <= names
    summary = {"gguf_version": gguf.__version__ if hasattr(gguf, "__version__") else "0.19.0",
               "text": text, "mmproj": mmproj}
    with open(a.summary, "w") as f:
        json.dump(summary, f, indent=1)
    print(f"ok: {len(text['tensors'])} text and {len(mmproj['tensors'])} mmproj tensors conform")


if __name__ == "__main__":
    main()
