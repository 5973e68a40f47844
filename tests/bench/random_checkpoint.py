#!/usr/bin/env python3
"""Writes a random-weight float16 Imp-v1.5 checkpoint of the real dimensions,
laid out as MILVLG publishes it: config.json, sharded safetensors with an
index, and a fixture's tokenizer files. Imp-3B (default): Phi-2 2.78B + SigLIP
so400m 27 layers + projector, about 6.4 GB; `--variant imp-4b`: Phi-3-mini
3.8B (fused qkv and gate_up, RMSNorm; float16 where MILVLG stores bfloat16,
the same bytes) + SigLIP at 384 px, about 8.5 GB, with the tiny Phi-3
fixture's tokenizer. For measuring `imp convert` and the hub install (peak
memory, disk, time) and for comparing speed with llama.cpp on the very same
converted files; the weights are noise, the answers are noise.

Usage: python tests/bench/random_checkpoint.py OUT_DIR [--image-size 196|384]
                                               [--variant imp-3b|imp-4b]
Needs numpy and safetensors.
"""

import argparse
import json
import shutil
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

HERE = Path(__file__).resolve().parent
FIXTURE = HERE.parent / "fixtures" / "tiny-imp-wide"


def siglip(image_size):
    vh, vi, vl = 1152, 4304, 27
    vm = "model.vision_tower.vision_tower.vision_model"
    grid = image_size // 14
    yield f"{vm}.embeddings.patch_embedding.weight", (vh, 3, 14, 14)
    yield f"{vm}.embeddings.patch_embedding.bias", (vh,)
    yield f"{vm}.embeddings.position_embedding.weight", (grid * grid, vh)
    for i in range(vl):
        p = f"{vm}.encoder.layers.{i}"
        for n in ("layer_norm1", "layer_norm2"):
            yield f"{p}.{n}.weight", (vh,)
            yield f"{p}.{n}.bias", (vh,)
        for n in ("q_proj", "k_proj", "v_proj", "out_proj"):
            yield f"{p}.self_attn.{n}.weight", (vh, vh)
            yield f"{p}.self_attn.{n}.bias", (vh,)
        yield f"{p}.mlp.fc1.weight", (vi, vh)
        yield f"{p}.mlp.fc1.bias", (vi,)
        yield f"{p}.mlp.fc2.weight", (vh, vi)
        yield f"{p}.mlp.fc2.bias", (vh,)


def phi3_tensors(image_size):
    h, ti, layers, vocab = 3072, 8192, 32, 32064
    yield from siglip(image_size)
    yield "model.mm_projector.0.weight", (h, 1152)
    yield "model.mm_projector.0.bias", (h,)
    yield "model.mm_projector.2.weight", (h, h)
    yield "model.mm_projector.2.bias", (h,)
    yield "model.embed_tokens.weight", (vocab, h)
    for i in range(layers):
        p = f"model.layers.{i}"
        yield f"{p}.input_layernorm.weight", (h,)
        yield f"{p}.post_attention_layernorm.weight", (h,)
        yield f"{p}.self_attn.qkv_proj.weight", (3 * h, h)
        yield f"{p}.self_attn.o_proj.weight", (h, h)
        yield f"{p}.mlp.gate_up_proj.weight", (2 * ti, h)
        yield f"{p}.mlp.down_proj.weight", (h, ti)
    yield "model.norm.weight", (h,)
    yield "lm_head.weight", (vocab, h)


def phi3_config(image_size):
    config = json.loads((HERE.parent / "fixtures" / "tiny-imp-phi3" / "config.json").read_text())
    config.update({
        "vocab_size": 32064, "hidden_size": 3072, "intermediate_size": 8192,
        "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 32,
        "sliding_window": 2047, "mm_hidden_size": 1152, "tokenizer_model_max_length": 3072,
        "vision_tower_config": {
            "hidden_size": 1152, "intermediate_size": 4304, "num_attention_heads": 16,
            "num_hidden_layers": 27, "image_size": image_size, "patch_size": 14,
            "layer_norm_eps": 1e-6, "hidden_act": "gelu_pytorch_tanh"},
    })
    return config


def tensors(image_size):
    vh = 1152
    h, ti, layers, vocab = 2560, 10240, 32, 51200
    yield from siglip(image_size)
    yield "model.mm_projector.0.weight", (h, vh)
    yield "model.mm_projector.0.bias", (h,)
    yield "model.mm_projector.2.weight", (h, h)
    yield "model.mm_projector.2.bias", (h,)
    yield "model.embed_tokens.weight", (vocab, h)
    for i in range(layers):
        p = f"model.layers.{i}"
        yield f"{p}.input_layernorm.weight", (h,)
        yield f"{p}.input_layernorm.bias", (h,)
        for n in ("q_proj", "k_proj", "v_proj", "dense"):
            yield f"{p}.self_attn.{n}.weight", (h, h)
            yield f"{p}.self_attn.{n}.bias", (h,)
        yield f"{p}.mlp.fc1.weight", (ti, h)
        yield f"{p}.mlp.fc1.bias", (ti,)
        yield f"{p}.mlp.fc2.weight", (h, ti)
        yield f"{p}.mlp.fc2.bias", (h,)
    yield "model.final_layernorm.weight", (h,)
    yield "model.final_layernorm.bias", (h,)
    yield "lm_head.weight", (vocab, h)
    yield "lm_head.bias", (vocab,)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--image-size", type=int, default=None)
    ap.add_argument("--variant", choices=("imp-3b", "imp-4b"), default="imp-3b")
    a = ap.parse_args()
    if a.image_size is None:
        a.image_size = 384 if a.variant == "imp-4b" else 196
    generate = phi3_tensors if a.variant == "imp-4b" else tensors
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    shards, current, size, index = [], {}, 0, {}
    for name, shape in generate(a.image_size):
        fan_in = shape[-1] if len(shape) > 1 else 1
        scale = 1.0 / np.sqrt(fan_in) if len(shape) > 1 else 0.1
        current[name] = (rng.standard_normal(shape, dtype=np.float32) * scale).astype(np.float16)
        size += current[name].nbytes
        if size > 2_000_000_000:
            shards.append(current)
            current, size = {}, 0
    shards.append(current)
    for i, shard in enumerate(shards, 1):
        fname = f"model-{i:05d}-of-{len(shards):05d}.safetensors"
        save_file(shard, out / fname, metadata={"format": "pt"})
        index.update({k: fname for k in shard})
    (out / "model.safetensors.index.json").write_text(json.dumps({"weight_map": index}))
    if a.variant == "imp-4b":
        (out / "config.json").write_text(json.dumps(phi3_config(a.image_size), indent=2))
        tokenizer = HERE.parent / "fixtures" / "tiny-imp-phi3"
        for f in ("tokenizer.json", "tokenizer_config.json"):
            shutil.copy(tokenizer / f, out / f)
        print(f"wrote {out} ({len(shards)} shards)")
        return
    config = json.loads((FIXTURE / "config.json").read_text())
    for key in ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
                "num_attention_heads"):
        config.pop(key, None)  # Phi-2's values are the defaults
    config.update({
        "mm_hidden_size": 1152, "tokenizer_model_max_length": 3072,
        "vision_tower_config": {
            "hidden_size": 1152, "intermediate_size": 4304, "num_attention_heads": 16,
            "num_hidden_layers": 27, "image_size": a.image_size, "patch_size": 14,
            "layer_norm_eps": 1e-6, "hidden_act": "gelu_pytorch_tanh"},
    })
    (out / "config.json").write_text(json.dumps(config, indent=2))
    for f in FIXTURE.iterdir():
        if f.suffix in (".json", ".txt") and f.name not in ("config.json",):
            shutil.copy(f, out / f.name)
    print(f"wrote {out} ({len(shards)} shards)")


if __name__ == "__main__":
    main()
