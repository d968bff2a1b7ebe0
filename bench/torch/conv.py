#!/usr/bin/python3
"""PyTorch side of bench/conv.ts: conv2d forward, grad-input and grad-weight for the ResNet-20 shapes.

Run with Debian's python3-torch (1.13, oneDNN + OpenBLAS):  /usr/bin/python3 bench/torch/conv.py '<json>'
The argument is {"shapes": [{"name", "x": [N,H,W,C], "f": [KH,KW,C,OC], "s", "p"}], "reps", "minMs"}.
Prints ONE JSON object: {name: {fwd, dx, dw, fwd_cpu, dx_cpu, dw_cpu}} in ms (wall; process CPU time), each the fastest over torch.set_num_threads(1|2) and over
NCHW / channels_last memory formats (PyTorch at its best).
"""
import json
import sys
import time

import torch

cfg = json.loads(sys.argv[1])
reps = cfg.get("reps", 5)
min_ms = cfg.get("minMs", 200)


def best_of(fn):
    """(wall ms, process CPU ms) per call, each the best round."""
    best, best_cpu = float("inf"), float("inf")
    for _ in range(reps):
        calls = 0
        c0 = time.process_time()
        t0 = time.perf_counter()
        t = t0
        while True:
            fn()
            calls += 1
            t = time.perf_counter()
            if (t - t0) * 1000 >= min_ms:
                break
        best = min(best, (t - t0) * 1000 / calls)
        best_cpu = min(best_cpu, (time.process_time() - c0) * 1000 / calls)
    return best, best_cpu


out = {}
torch.manual_seed(0)
with torch.no_grad():
    for sh in cfg["shapes"]:
        n, h, w, c = sh["x"]
        kh, kw, _, oc = sh["f"]
        s, p = sh["s"], sh["p"]
        res = {k: float("inf") for k in ("fwd", "dx", "dw", "fwd_cpu", "dx_cpu", "dw_cpu")}
        for threads in (1, 2):
            torch.set_num_threads(threads)
            for fmt in (torch.contiguous_format, torch.channels_last):
                x = torch.randn(n, c, h, w).contiguous(memory_format=fmt)
                wt = torch.randn(oc, c, kh, kw).contiguous(memory_format=fmt)
                y = torch.nn.functional.conv2d(x, wt, None, s, p)
                dy = torch.randn_like(y).contiguous(memory_format=fmt)

                def fwd():
                    torch.nn.functional.conv2d(x, wt, None, s, p)

                def bwd(mask):
                    return lambda: torch.ops.aten.convolution_backward(
                        dy, x, wt, None, [s, s], [p, p], [1, 1], False, [0, 0], 1, mask
                    )

                fwd()
                for k, fn in (("fwd", fwd), ("dx", bwd([True, False, False])), ("dw", bwd([False, True, False]))):
                    wall, cpu = best_of(fn)
                    res[k] = min(res[k], wall)
                    res[k + "_cpu"] = min(res[k + "_cpu"], cpu)
        out[sh["name"]] = res
print(json.dumps(out))
