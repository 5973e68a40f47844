#!/usr/bin/env python3
"""Checks an `imp convert --llama-cpp` pair against llama.cpp's own tables and
reader, the `gguf` package on PyPI (llama.cpp's gguf-py):

- both files parse with gguf.GGUFReader;
- every tensor name is one llama.cpp's MODEL_TENSORS allows for the file's
  architecture (phi2, qwen2 or phi3 for the text file, the mmproj's "clip");
- the keys llama.cpp reads for those architectures are present with the right
  types, and clip.projector_type is "mlp".

Writes a summary (names, shapes, ggml types, keys) as JSON to --summary, which
the Rust test `llama_cpp_pair_matches_the_checked_summary` compares with what
the converter writes today, so CI needs no Python.

Usage: python tests/llama_cpp/check_pair.py TEXT.gguf MMPROJ.gguf --summary OUT.json
(golden/llama-cpp-pair.json: tiny-imp-wide; llama-cpp-pair-qwen2.json and
-phi3.json: tiny-imp-qwen2 and tiny-imp-phi3; all converted with --quant q4_k.)
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
    name = bytes(gguf.GGUFReader(a.text).fields["general.architecture"].parts[-1]).decode()
    arch = {"phi2": MODEL_ARCH.PHI2, "qwen2": MODEL_ARCH.QWEN2, "phi3": MODEL_ARCH.PHI3}[name]
    # The keys llama.cpp's loader reads for these architectures (llama-model.cpp):
    # LayerNorm eps for phi2, RMSNorm eps for the others; merges for GPT-2 BPE
    # vocabularies, scores for SentencePiece ones (phi3).
    eps = "layer_norm_epsilon" if name == "phi2" else "layer_norm_rms_epsilon"
    required = {f"{name}.{k}": "UINT32" for k in (
        "context_length", "embedding_length", "feed_forward_length", "block_count",
        "attention.head_count", "attention.head_count_kv", "rope.dimension_count")}
    required.update({
        f"{name}.attention.{eps}": "FLOAT32", f"{name}.rope.freq_base": "FLOAT32",
        "general.file_type": "UINT32", "tokenizer.ggml.model": "STRING",
        "tokenizer.ggml.tokens": "ARRAY", "tokenizer.ggml.token_type": "ARRAY",
        "tokenizer.ggml.eos_token_id": "UINT32",
    })
    if name == "phi3":
        required.update({"tokenizer.ggml.scores": "ARRAY", "phi3.attention.sliding_window": "UINT32"})
    else:
        required["tokenizer.ggml.merges"] = "ARRAY"
    text = check(a.text, arch, name, required)
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
