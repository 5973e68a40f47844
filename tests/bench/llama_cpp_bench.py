#!/usr/bin/env python3
"""Times llama.cpp (the PyPI package llama-cpp-python) on a text GGUF, with the
protocol `imp bench` uses for its language model: a prompt of N tokens in one
pass, then G greedy tokens. For comparing on the very same file:
`imp convert --llama-cpp` writes FILE-text.gguf from the checkpoint FILE.gguf
comes from.

Usage: python tests/bench/llama_cpp_bench.py FILE-text.gguf [--prompt-tokens 41]
           [--gen-tokens 64] [--threads 2] [--repeat 3]
Prints one JSON line: load_s, then per run prompt_tok_s and gen_tok_s, and the
process's peak RSS (ru_maxrss).
"""

import argparse
import json
import resource
import time

from llama_cpp import Llama


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--prompt-tokens", type=int, default=41)
    ap.add_argument("--gen-tokens", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    t = time.perf_counter()
    llm = Llama(model_path=a.model, n_threads=a.threads, n_threads_batch=a.threads,
                n_ctx=1024, n_batch=512, verbose=False)
    load_s = time.perf_counter() - t
    vocab = llm.n_vocab()
    runs = []
    for r in range(a.repeat):
        llm.reset()
        prompt = [(i * 7919 + r * 104729) % (vocab // 2) + 10 for i in range(a.prompt_tokens)]
        t = time.perf_counter()
        llm.eval(prompt)
        prompt_s = time.perf_counter() - t
        t = time.perf_counter()
        for _ in range(a.gen_tokens):
            tok = llm.sample(temp=0.0)
            llm.eval([tok])
        gen_s = time.perf_counter() - t
        runs.append({"prompt_tok_s": a.prompt_tokens / prompt_s, "gen_tok_s": a.gen_tokens / gen_s})
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"load_s": load_s, "runs": runs, "peak_rss_mb": peak / 1e6}))


if __name__ == "__main__":
    main()
