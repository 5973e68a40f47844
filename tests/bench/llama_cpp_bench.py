#!/usr/bin/env python3
"""llama.cpp and `imp bench` on the very same files, one after the other, with
the same protocol, and the ratios.

The protocol (Table 4 of the Imp paper, as `imp bench` runs it): a random
image through the vision tower and projector; a prompt of 41 text tokens (the
image placeholder among them, at index 4) plus the image's patches prefilled
in one pass; 64 greedy tokens. Both sides also time the first answer token
for a picture and a 10-token question handed over together (cold: decode of
nothing, picture preprocessing, vision, the whole templated prompt, the first
token); `imp bench` also with the picture handed over ahead (only the
question's turn left). The question is built once, from llama.cpp's tokenizer
(words in turn, skipping any that would overshoot the count, as `imp bench`
does), and `imp bench` is given the same text with `--question`; both sides'
counts are printed.

llama.cpp runs through the PyPI package llama-cpp-python (0.3.36, built from
source with cmake: install it into a venv outside the checkout, e.g.
`python3 -m venv /opt/llama-venv && /opt/llama-venv/bin/pip install
llama-cpp-python==0.3.36`), its text model from FILE-text.gguf and the vision
tower through mtmd from FILE-mmproj.gguf: the pair `imp convert --llama-cpp`
writes. `imp bench` runs on the pair too (`--model text --mmproj mmproj`), so
both read the very same bytes.

Usage:
  python tests/bench/llama_cpp_bench.py --text FILE-text.gguf --mmproj FILE-mmproj.gguf
      --imp target/release/imp [--threads 2] [--repeat 5] [--json OUT.json]
  (--imp-model FILE.gguf runs `imp bench` on the single Imp file instead of
  the pair; --skip-imp / --skip-llama run one side only.)
Medians are over the runs after the first on both sides.
"""

import argparse
import ctypes
import json
import resource
import statistics
import subprocess
import sys
import time

SYSTEM = ("A chat between a curious user and an artificial intelligence assistant. "
          "The assistant gives helpful, detailed, and polite answers to the user's questions.")
QUESTION_WORDS = ["What", " colour", " is", " the", " car", " parked", " next", " to", " the",
                  " red", " door", " on", " the", " left", " side", "?"]


def question_of(count_tokens, tokens):
    """The question of `tokens` tokens `imp bench` builds by default."""
    question, count, misses, i = "", 0, 0, 0
    while count < tokens and misses < len(QUESTION_WORDS):
        longer = question + QUESTION_WORDS[i % len(QUESTION_WORDS)]
        i += 1
        n = count_tokens(longer)
        if n <= tokens:
            question, count, misses = longer, n, 0
        else:
            misses += 1
    return question


def llama_side(a):
    import numpy as np
    import llama_cpp
    from llama_cpp import Llama
    from llama_cpp import mtmd_cpp as mtmd

    t = time.perf_counter()
    llm = Llama(model_path=a.text, n_threads=a.threads, n_threads_batch=a.threads,
                n_ctx=1024, n_batch=512, n_ubatch=512, verbose=False)
    params = mtmd.mtmd_context_params_default()
    params.use_gpu = False
    params.n_threads = a.threads
    params.print_timings = False
    mctx = mtmd.mtmd_init_from_file(a.mmproj.encode(), llm.model, params)
    if not mctx:
        sys.exit("mtmd could not load the mmproj")
    load_s = time.perf_counter() - t
    ctx = llm.ctx
    vocab = llama_cpp.llama_model_get_vocab(llm.model)
    n_vocab = llama_cpp.llama_vocab_n_tokens(vocab)
    marker = mtmd.mtmd_default_marker()
    rng = np.random.default_rng(0)

    def clear():
        llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(ctx), True)

    def decode(tokens):
        arr = (llama_cpp.llama_token * len(tokens))(*tokens)
        for i in range(0, len(tokens), 512):
            n = min(512, len(tokens) - i)
            batch = llama_cpp.llama_batch_get_one(
                ctypes.cast(ctypes.addressof(arr) + 4 * i, ctypes.POINTER(llama_cpp.llama_token)), n)
            if llama_cpp.llama_decode(ctx, batch) != 0:
                sys.exit("llama_decode failed")

    def argmax():
        logits = llama_cpp.llama_get_logits_ith(ctx, -1)
        return int(np.argmax(np.ctypeslib.as_array(logits, shape=(n_vocab,))))

    def chunks_for(text, width, height):
        pixels = rng.integers(0, 256, size=width * height * 3, dtype=np.uint8)
        data = (ctypes.c_uint8 * len(pixels)).from_buffer_copy(pixels.tobytes())
        bitmap = mtmd.mtmd_bitmap_init(width, height, data)
        chunks = mtmd.mtmd_input_chunks_init()
        inp = mtmd.mtmd_input_text(text, len(text), True, True)
        bitmaps = (mtmd.mtmd_bitmap_p_ctypes * 1)(bitmap)
        if mtmd.mtmd_tokenize(mctx, chunks, ctypes.byref(inp), bitmaps, 1) != 0:
            sys.exit("mtmd_tokenize failed")
        return chunks, bitmap

    def image_chunk(chunks):
        for i in range(mtmd.mtmd_input_chunks_size(chunks)):
            c = mtmd.mtmd_input_chunks_get(chunks, i)
            if mtmd.mtmd_input_chunk_get_type(c) == mtmd.MTMD_INPUT_CHUNK_TYPE_IMAGE:
                return c
        sys.exit("no image chunk")

    # The image placeholder alone gives the image chunk the protocol encodes.
    size = a.image_size
    question = question_of(lambda t: len(llm.tokenize(t.encode(), add_bos=False)),
                           a.question_tokens)
    question_tokens = len(llm.tokenize(question.encode(), add_bos=False))
    runs = []
    for r in range(a.repeat):
        clear()
        prompt = [(i * 7919 + r * 104729) % (n_vocab // 2) + 10 for i in range(a.prompt_tokens)]
        chunks, bitmap = chunks_for(marker, size, size)
        chunk = image_chunk(chunks)
        t = time.perf_counter()
        if mtmd.mtmd_encode_chunk(mctx, chunk) != 0:
            sys.exit("mtmd_encode_chunk failed")
        vision_s = time.perf_counter() - t
        embd = mtmd.mtmd_get_output_embd(mctx)
        n_img = mtmd.mtmd_input_chunk_get_n_tokens(chunk)
        new_past = llama_cpp.llama_pos(0)
        t = time.perf_counter()
        decode(prompt[:4])
        no_callback = ctypes.cast(None, mtmd.mtmd_helper_post_decode_callback)
        if mtmd.mtmd_helper_decode_image_chunk(mctx, ctx, chunk, embd, 4, 0, 512,
                                               ctypes.byref(new_past), no_callback, None) != 0:
            sys.exit("image decode failed")
        decode(prompt[5:])
        prompt_s = time.perf_counter() - t
        positions = a.prompt_tokens - 1 + n_img
        t = time.perf_counter()
        for _ in range(a.gen_tokens):
            decode([argmax()])
        gen_s = time.perf_counter() - t
        mtmd.mtmd_input_chunks_free(chunks)
        mtmd.mtmd_bitmap_free(bitmap)

        # Cold time to first token: a camera-sized picture and the question.
        clear()
        text = f"{SYSTEM} USER: {marker.decode()}\n{question} ASSISTANT:".encode()
        t = time.perf_counter()
        chunks, bitmap = chunks_for(text, 640, 480)
        new_past = llama_cpp.llama_pos(0)
        if mtmd.mtmd_helper_eval_chunks(mctx, ctx, chunks, 0, 0, 512, True,
                                        ctypes.byref(new_past)) != 0:
            sys.exit("mtmd_helper_eval_chunks failed")
        argmax()
        ttft_s = time.perf_counter() - t
        mtmd.mtmd_input_chunks_free(chunks)
        mtmd.mtmd_bitmap_free(bitmap)
        runs.append({"vision_s": vision_s, "prompt_positions": positions,
                     "prompt_tok_s": positions / prompt_s, "gen_tok_s": a.gen_tokens / gen_s,
                     "ttft_cold_s": ttft_s})
        print(f"llama.cpp run {r + 1}: " + ", ".join(f"{k} {v:.3f}" for k, v in runs[-1].items()),
              file=sys.stderr)
    mtmd.mtmd_free(mctx)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"load_s": load_s, "runs": runs, "peak_rss_mb": peak / 1e6,
            "question": question, "question_tokens": question_tokens}


def imp_side(a, question):
    cmd = [a.imp, "bench", "--threads", str(a.threads), "--repeat", str(a.repeat),
           "--prompt-tokens", str(a.prompt_tokens), "--gen-tokens", str(a.gen_tokens),
           "--question-tokens", str(a.question_tokens), "--format", "json"]
    if question is not None:
        cmd += ["--question", question]
    if a.imp_model:
        cmd += ["--model", a.imp_model]
    else:
        cmd += ["--model", a.text, "--mmproj", a.mmproj]
    print("running: " + " ".join(cmd), file=sys.stderr)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    r = json.loads(out.strip().splitlines()[-1])
    runs = [{"vision_s": x["vision_s"], "prompt_positions": x["prompt_positions"],
             "prompt_tok_s": x["prompt_positions"] / x["prompt_s"],
             "gen_tok_s": a.gen_tokens / x["gen_s"], "ttft_cold_s": x["ttft_cold_s"],
             "ttft_ahead_s": x["ttft_ahead_s"]} for x in r["runs"]]
    return {"load_s": r["load_s"], "runs": runs, "peak_rss_mb": r["peak_rss_bytes"] / 1e6,
            "peak_anon_mb": r["peak_anon_rss_bytes"] / 1e6,
            "question_tokens": r["question_tokens"]}


def medians(side):
    runs = side["runs"][1:] if len(side["runs"]) > 1 else side["runs"]
    keys = runs[0].keys()
    return {k: statistics.median(r[k] for r in runs) for k in keys}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--text", required=True)
    ap.add_argument("--mmproj", required=True)
    ap.add_argument("--imp", default="target/release/imp")
    ap.add_argument("--imp-model")
    ap.add_argument("--image-size", type=int, default=196)
    ap.add_argument("--prompt-tokens", type=int, default=41)
    ap.add_argument("--gen-tokens", type=int, default=64)
    ap.add_argument("--question-tokens", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--skip-imp", action="store_true")
    ap.add_argument("--skip-llama", action="store_true")
    ap.add_argument("--json")
    a = ap.parse_args()
    result = {}
    if not a.skip_llama:
        result["llama.cpp"] = llama_side(a)
    if not a.skip_imp:
        result["imp"] = imp_side(a, result.get("llama.cpp", {}).get("question"))
    rows = [("vision encode s", "vision_s", True), ("prompt tok/s", "prompt_tok_s", False),
            ("generation tok/s", "gen_tok_s", False), ("TTFT cold s", "ttft_cold_s", True),
            ("TTFT picture ahead s", "ttft_ahead_s", True)]
    med = {side: medians(v) for side, v in result.items()}
    print(f"{a.threads} threads, {a.image_size} px, {a.prompt_tokens} prompt tokens, "
          f"{a.gen_tokens} generated, median of runs 2-{a.repeat}")
    counts = ", ".join(f"{side} {v['question_tokens']}" for side, v in result.items())
    print(f"question of {a.question_tokens} tokens asked; tokens each side counted: {counts}")
    print(f"{'':22} {'llama.cpp':>10} {'imp':>10} {'imp / llama.cpp':>16}")
    for label, key, lower_better in rows:
        l = med.get("llama.cpp", {}).get(key)
        i = med.get("imp", {}).get(key)
        ratio = f"{i / l:.2f}x" if (l and i) else "-"
        fmt = lambda v: f"{v:10.3f}" if v is not None else f"{'-':>10}"
        print(f"{label:22} {fmt(l)} {fmt(i)} {ratio:>16}"
              + ("  (time: lower is better)" if lower_better and l and i else ""))
    for side, v in result.items():
        extra = f", peak anonymous {v['peak_anon_mb']:.0f} MB" if "peak_anon_mb" in v else ""
        print(f"{side}: load {v['load_s']:.2f} s, peak RSS {v['peak_rss_mb']:.0f} MB{extra}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"results": result, "medians": med}, f, indent=1)


if __name__ == "__main__":
    main()
