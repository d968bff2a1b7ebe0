#!/usr/bin/python3
"""PyTorch side of `laurel bench --inference`: inference latency of the benchmark models on OUR weights.

Run with Debian's python3-torch:   /usr/bin/python3 bench/torch/infer.py --request FILE.json
`bench/inference.ts` writes the request and the weights (safetensors, torch layout, `laurel.spec` metadata, as
`laurel export` writes them) and reads ONE JSON object from stdout (logs go to stderr).

The models are python/laurel_torch.py's peers of ours (same formulas, loaded with from_safetensors), in eval mode
under torch.no_grad():
  ResNet   forward at each batch size on a fixed random NCHW batch; NCHW contiguous and channels_last tried.
  GPT      prefill: one forward of `prefill` tokens that also fills a key/value cache;
           decode:  after a `prompt`-token prefill, `decode` greedy steps of one token each through the cache.
The cache: each layer's Attention keeps K, V [B, H, t, d] and concatenates the new position's (torch.cat, O(t)
per token, as ours); queries attend to every cached key (a mask only inside a multi-token chunk), rotary
positions at their absolute offsets. Everything else of a layer acts per position, LAUREL included, so the
layer code of laurel_torch.Gpt runs unchanged.
Timing: `warmup` untimed calls, then the median of `reps` calls, for every torch.set_num_threads value in
`threads` (and memory format, ResNet); each result (prefill and decoding separately) is the fastest setting, where
one tried later must be 5 % faster to replace an earlier one (CLEARLY_FASTER).
Check: the logits on the request's inputs (`check_image`: one image NHWC; `check_tokens`: the prompt) and the
greedy continuation, for bench/inference.ts to compare with ours.

--serve: after the same search and checks, one JSON request per stdin line and one JSON reply per stdout line,
so that bench/inference.ts can alternate blocks of our calls and of PyTorch's (both then see the same machine
load); each call runs at the setting the search chose for it and replies with its own time:
  {"cmd": "report"}                                   the batch mode's object (settings, medians, checks)
  {"cmd": "resnet", "residual", "batch"}              one forward                       -> {"ms"}
  {"cmd": "prefill", "residual"}                      one prefill into a fresh cache     -> {"ms"}
  {"cmd": "decode_start", "residual"}                 a fresh cache holding the prompt   -> {"ok"}
  {"cmd": "decode_step", "residual"}                  one greedy token through it        -> {"ms"}
  {"cmd": "block", "call": {...}, "warmup", "n"}      `warmup` untimed calls of `call`, then n timed -> {"ms": [...]}
Errors reply {"error": message}; EOF ends the process. The first line says whether torch imported.
"""

import argparse
import json
import math
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))

from serve import serve as serve_lines  # noqa: E402


def timed_ms(fn):
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000.0


def log(msg):
    print(f"[torch] {msg}", file=sys.stderr, flush=True)


# A setting tried later (more threads, channels_last) replaces the best so far only when it is this much faster.
# In the timed blocks, right after our process ran, a 2-thread PyTorch prefill measured 2.5x its search time, where
# it had tied with 1 thread (a short call of many small parallel regions stalls whenever one of its threads waits
# for a core; we did not pin down what held it: both sides' pools sleep, bench/inference.ts IDLE_POOLS), so more
# threads are taken only where they clearly pay, as at batch 128 (1.8x).
CLEARLY_FASTER = 0.95


def median_ms(fn, warmup, reps):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(times)


def install_cache(torch, lt):
    """Makes laurel_torch.Attention use `self.kv` (a dict k, v, len) when it is set: incremental decoding."""
    original = lt.Attention.forward

    def forward(self, x):
        c = getattr(self, "kv", None)
        if c is None:
            return original(self, x)
        b, t, d = x.shape
        h = self.heads
        start = c["len"]
        q, k, v = self.qkv(x).view(b, t, 3, h, d // h).permute(2, 0, 3, 1, 4)
        if self.rotary:
            half = q.shape[-1] // 2

            def rope(z):
                rotated = torch.cat([-z[..., half:], z[..., :half]], -1)
                return z * self.cos[start : start + t] + rotated * self.sin[start : start + t]

            q, k = rope(q), rope(k)
        if c["k"] is not None:
            k = torch.cat([c["k"], k], 2)
            v = torch.cat([c["v"], v], 2)
        c["k"], c["v"], c["len"] = k, v, start + t
        scores = (q * (1.0 / math.sqrt(d // h))) @ k.transpose(-2, -1)
        if t > 1:
            scores = scores + self.mask[start : start + t, : start + t]
        y = torch.softmax(scores, -1) @ v
        return self.proj(y.transpose(1, 2).reshape(b, t, d))

    lt.Attention.forward = forward


def cached_forward(lt, model, tokens, caches):
    """Logits [B, T, V] of `tokens` at positions caches[0]['len'] ...; the caches grow by T."""
    start = caches[0]["len"]
    t = tokens.shape[1]
    x = model.wte(tokens)
    if model.wpe is not None:
        x = x + model.wpe.weight[start : start + t]
    v = model.residual_cfg["variant"]
    history = lt.ActivationHistory(model.residual_cfg.get("k", 3)) if lt.has_pa(v) or v == "general" else None
    for layer, c in zip(model.layers, caches):
        layer.attn.kv = c
        x = layer(x, history)
        layer.attn.kv = None
    x = model.lnF(x)
    return model.head(x) if model.head is not None else x @ model.wte.weight.t()


def new_caches(model):
    return [{"k": None, "v": None, "len": 0} for _ in model.layers]


def bench_resnet(torch, lt, path, req):
    model = lt.from_safetensors(path)
    out = {}
    g = torch.Generator().manual_seed(0)
    for batch in req["batches"]:
        x0 = torch.rand(batch, model.conv1.in_channels, req["image"], req["image"], generator=g)
        best = None
        for fmt in ("contiguous", "channels_last"):
            m = model.to(memory_format=torch.channels_last) if fmt == "channels_last" else model
            x = x0.contiguous(memory_format=torch.channels_last) if fmt == "channels_last" else x0
            for n in req["threads"]:
                torch.set_num_threads(n)
                with torch.no_grad():
                    ms = median_ms(lambda: m(x), req["warmup"], req["reps"][str(batch)])
                log(f"{os.path.basename(path)} batch {batch} threads={n},{fmt}: {ms:.3f} ms")
                if best is None or ms < CLEARLY_FASTER * best[0]:
                    best = (ms, f"threads={n},{fmt}")
        out[str(batch)] = {"ms": best[0], "setting": best[1]}
    model = model.to(memory_format=torch.contiguous_format)
    img = torch.tensor(req["check_image"], dtype=torch.float32).reshape(req["check_shape"]).permute(0, 3, 1, 2)
    with torch.no_grad():
        out["check_logits"] = model(img.contiguous()).reshape(-1).tolist()
    return out


def bench_gpt(torch, lt, path, req):
    model = lt.from_safetensors(path)
    vocab = model.config["vocab"]
    g = torch.Generator().manual_seed(0)
    prefill = torch.randint(0, vocab, (1, req["prefill"]), generator=g)
    prompt = torch.randint(0, vocab, (1, req["prompt"]), generator=g)
    best = None
    for n in req["threads"]:
        torch.set_num_threads(n)
        with torch.no_grad():
            pre = median_ms(lambda: cached_forward(lt, model, prefill, new_caches(model)), req["warmup"], req["reps"])

            def decode_steps():
                caches = new_caches(model)
                z = cached_forward(lt, model, prompt, caches)[:, -1]
                times = []
                for _ in range(req["decode"]):
                    tok = z.argmax(-1, keepdim=True)
                    t0 = time.perf_counter()
                    z = cached_forward(lt, model, tok, caches)[:, -1]
                    times.append((time.perf_counter() - t0) * 1000.0)
                return statistics.median(times)

            decode_steps()  # warm
            dec = statistics.median([decode_steps() for _ in range(max(1, req["decodeRounds"]))])
        log(f"{os.path.basename(path)} threads={n}: prefill {req['prefill']} tokens {pre:.2f} ms, decode {dec:.3f} ms/token")
        if best is None or dec < CLEARLY_FASTER * best["decode_ms"]:
            best = {**(best or {}), "decode_ms": dec, "tokens_per_s": 1000.0 / dec, "setting": f"threads={n}"}
        if "prefill_ms" not in best or pre < CLEARLY_FASTER * best["prefill_ms"]:
            best["prefill_ms"], best["prefill_setting"] = pre, f"threads={n}"
    torch.set_num_threads(1)
    with torch.no_grad():
        toks = torch.tensor([req["check_tokens"]], dtype=torch.long)
        caches = new_caches(model)
        z = cached_forward(lt, model, toks, caches)[:, -1]
        best["check_logits"] = z.reshape(-1).tolist()
        greedy = []
        for _ in range(req["check_decode"]):
            tok = z.argmax(-1, keepdim=True)
            greedy.append(int(tok))
            z = cached_forward(lt, model, tok, caches)[:, -1]
        best["check_greedy"] = greedy
        best["check_full_logits"] = model(toks)[:, -1].reshape(-1).tolist()
    return best


def search(torch, lt, req):
    """The batch mode's object: every model's fastest setting, its median, and the checks."""
    out = {"available": True, "torch_version": torch.__version__, "python": sys.executable, "resnet": {}, "gpt": {}}
    for variant, path in req.get("resnet", {}).get("files", {}).items():
        out["resnet"][variant] = bench_resnet(torch, lt, path, req["resnet"])
    for variant, path in req.get("gpt", {}).get("files", {}).items():
        out["gpt"][variant] = bench_gpt(torch, lt, path, req["gpt"])
    return out


def setting_of(text):
    """'threads=2,channels_last' -> (2, 'channels_last'); 'threads=1' -> (1, 'contiguous')."""
    parts = dict(p.split("=") if "=" in p else ("format", p) for p in text.split(","))
    return int(parts["threads"]), parts.get("format", "contiguous")


def serve(torch, lt, req, report):
    """--serve (see the docstring): the timed calls, each at the setting `report` chose for it."""
    resnets, gpts, decoding = {}, {}, {}
    g = torch.Generator().manual_seed(0)
    for variant, path in req.get("resnet", {}).get("files", {}).items():
        model = lt.from_safetensors(path)
        per_batch = {}
        for batch in req["resnet"]["batches"]:
            threads, fmt = setting_of(report["resnet"][variant][str(batch)]["setting"])
            x = torch.rand(batch, model.conv1.in_channels, req["resnet"]["image"], req["resnet"]["image"], generator=g)
            if fmt == "channels_last":
                m = lt.from_safetensors(path).to(memory_format=torch.channels_last)
                x = x.contiguous(memory_format=torch.channels_last)
            else:
                m = model
            per_batch[batch] = (m, x, threads)
        resnets[variant] = per_batch
    for variant, path in req.get("gpt", {}).get("files", {}).items():
        model = lt.from_safetensors(path)
        vocab = model.config["vocab"]
        entry = report["gpt"][variant]
        gpts[variant] = {
            "model": model,
            "prefill": torch.randint(0, vocab, (1, req["gpt"]["prefill"]), generator=g),
            "prompt": torch.randint(0, vocab, (1, req["gpt"]["prompt"]), generator=g),
            "prefill_threads": setting_of(entry["prefill_setting"])[0],
            "decode_threads": setting_of(entry["setting"])[0],
        }

    def resnet(r):
        m, x, threads = resnets[r["residual"]][int(r["batch"])]
        torch.set_num_threads(threads)
        return {"ms": timed_ms(lambda: m(x))}

    def prefill(r):
        c = gpts[r["residual"]]
        torch.set_num_threads(c["prefill_threads"])
        return {"ms": timed_ms(lambda: cached_forward(lt, c["model"], c["prefill"], new_caches(c["model"])))}

    def decode_start(r):
        c = gpts[r["residual"]]
        torch.set_num_threads(c["decode_threads"])
        caches = new_caches(c["model"])
        decoding[r["residual"]] = [caches, cached_forward(lt, c["model"], c["prompt"], caches)[:, -1]]
        return {"ok": True}

    def decode_step(r):
        c = gpts[r["residual"]]
        state = decoding[r["residual"]]
        torch.set_num_threads(c["decode_threads"])

        def step():
            state[1] = cached_forward(lt, c["model"], state[1].argmax(-1, keepdim=True), state[0])[:, -1]

        return {"ms": timed_ms(step)}

    handlers = {
        "report": lambda r: report,
        "resnet": resnet,
        "prefill": prefill,
        "decode_start": decode_start,
        "decode_step": decode_step,
    }

    def block(r):
        call = handlers[r["call"]["cmd"]]
        for _ in range(int(r["warmup"])):
            call(r["call"])
        return {"ms": [call(r["call"])["ms"] for _ in range(int(r["n"]))]}

    handlers["block"] = block
    with torch.no_grad():
        return serve_lines(torch, handlers)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--request", required=True, help="JSON written by bench/inference.ts")
    ap.add_argument("--serve", action="store_true", help="request/reply mode on stdin/stdout (see the docstring)")
    args = ap.parse_args()
    with open(args.request) as f:
        req = json.load(f)
    try:
        import torch

        import laurel_torch as lt
    except Exception as e:  # noqa: BLE001
        print(json.dumps({"available": False, "reason": f"cannot import torch / laurel_torch in {sys.executable}: {e}"}))
        return 0
    install_cache(torch, lt)
    report = search(torch, lt, req)
    if args.serve:
        return serve(torch, lt, req, report)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
