#!/usr/bin/python3
"""PyTorch side of `laurel bench`: one training step of the benchmark models, timed.

Run with Debian's python3-torch (1.13, OpenBLAS):   /usr/bin/python3 bench/torch/step.py [options]
`bench/models.ts` runs it as a subprocess and reads ONE JSON object from stdout (logs go to stderr).

The models are python/laurel_torch.py's (the one PyTorch definition of laurel's models, also what `laurel export
--layout torch` targets): CIFAR-style ResNet (option-B shortcuts) and the pre-norm GPT (learned positions, tied
head, biases, LAUREL placement 'block'), baseline or RW+LR, ranks resolved and capped as src/laurel and
src/models do. Parameters are reported under laurel's names (laurel_torch.laurel_names), so that
`bench/models.ts` can check them name by name (`structure` in the output) and, with --check, on the same weights
and inputs (given in laurel's layouts).

Optimizers (src/train/optim): SGD momentum (L2 decay added to the gradient) and AdamW (decoupled decay),
  decaying only conv/linear kernels and embeddings (our ParamKind 'weight' and 'embedding').
Loss: mean softmax cross-entropy. BN: batch statistics, running stats updated (momentum 0.1, eps 1e-5).

Timing: warmup steps, then the median of `steps` steps of (zero_grad, forward, loss, backward, optimizer
step with foreach=True, loss.item()) on one fixed random batch, for every torch.set_num_threads value in
`threads` and (ResNet only) every memory format in `torchMemoryFormats` (NCHW contiguous, channels_last);
torch_ms is the fastest setting: PyTorch at its best. OpenBLAS keeps its own thread count
(OPENBLAS_NUM_THREADS, default: all cores); torch.set_num_threads sets OpenMP/oneDNN threads only.
"""

import argparse
import json
import math
import os
import statistics
import sys
import time

from serve import serve as serve_lines

DEFAULT_CONFIG = {
    "resnet": {
        "arch": "resnet20",
        "batch": 128,
        "image": 28,
        "channels": 1,
        "classes": 10,
        "lr": 0.1,
        "momentum": 0.9,
        "weightDecay": 5e-4,
    },
    "gpt": {
        "layers": 4,
        "dim": 256,
        "heads": 4,
        "mlpRatio": 4,
        "context": 128,
        "vocab": 256,
        "batch": 16,
        "lr": 3e-4,
        "weightDecay": 0.01,
    },
    "models": ["resnet", "gpt"],
    "residuals": ["baseline", "rw+lr"],
    # null: min(16, D - 1) per layer (our default rule). ResNet: a rank >= a block's width D becomes D - 1
    # (r = 15 in ResNet-20's 16-channel stage); GPT: the rank must be < D.
    "rank": {"resnet": 16, "gpt": 16},
    "warmup": 3,
    "steps": 10,
    "threads": [1, 2],
    # ResNet only: PyTorch memory formats to try (oneDNN is often faster on channels_last); GPT is plain.
    "torchMemoryFormats": ["contiguous", "channels_last"],
}

# python/laurel_torch.py (imported once torch is, so that --help and --print-config work without torch)
PYTHON_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "python")


def log(msg):
    print(f"[torch] {msg}", file=sys.stderr, flush=True)


def build(torch, cfg):
    """Constructors (config section, variant, rank) -> laurel_torch model, by benchmark model name."""
    sys.path.insert(0, PYTHON_DIR)
    import laurel_torch as lt

    def resnet(c, variant, rank):
        residual = lt.residual_config(variant, rank=rank)
        return lt.ResNet(c["arch"], num_classes=c["classes"], in_channels=c["channels"], residual=residual)

    def gpt(c, variant, rank):
        keys = ("layers", "dim", "heads", "mlpRatio", "context", "vocab")
        return lt.Gpt(residual=lt.residual_config(variant, rank=rank), **{k: c[k] for k in keys})

    return {"ResNet": resnet, "Gpt": gpt, "names": lt.laurel_names}


def decayed(kind):
    """Our ParamKind split: conv/linear kernels ('weight') and embedding tables decay; the rest does not."""
    return kind in ("weight", "embedding")


def make_case(torch, classes, cfg, model_name, variant, batch_override=None, memory_format="contiguous"):
    """Model, optimizer, a fixed batch and the loss function for one benchmark configuration."""
    F = torch.nn.functional
    g = torch.Generator().manual_seed(0)
    if model_name == "resnet":
        c = cfg["resnet"]
        model = classes["ResNet"](c, variant, cfg["rank"].get("resnet"))
        n = batch_override or c["batch"]
        x = torch.randn(n, c["channels"], c["image"], c["image"], generator=g)
        y = torch.randint(0, c["classes"], (n,), generator=g)
        if memory_format == "channels_last":
            model = model.to(memory_format=torch.channels_last)
            x = x.contiguous(memory_format=torch.channels_last)
        elif memory_format != "contiguous":
            raise ValueError(f"bad memory format '{memory_format}'; allowed: contiguous, channels_last")
        loss_fn = lambda: F.cross_entropy(model(x), y)  # noqa: E731
        groups = param_groups(classes, model, c["weightDecay"])
        opt = torch.optim.SGD(groups, lr=c["lr"], momentum=c["momentum"], foreach=True)
    elif model_name == "gpt":
        c = cfg["gpt"]
        model = classes["Gpt"](c, variant, cfg["rank"].get("gpt"))
        n = batch_override or c["batch"]
        tok = torch.randint(0, c["vocab"], (n, c["context"] + 1), generator=g)
        x, y = tok[:, :-1].contiguous(), tok[:, 1:].contiguous()
        loss_fn = lambda: F.cross_entropy(model(x).reshape(-1, c["vocab"]), y.reshape(-1))  # noqa: E731
        groups = param_groups(classes, model, c["weightDecay"])
        opt = torch.optim.AdamW(groups, lr=c["lr"], betas=(0.9, 0.999), eps=1e-8, foreach=True)
    else:
        raise ValueError(f"bad model '{model_name}'; allowed: resnet, gpt")
    model.train()
    return model, opt, loss_fn


def param_groups(classes, model, wd):
    names = classes["names"](model)
    decay = [p for n, p in model.named_parameters() if decayed(names[n][1])]
    rest = [p for n, p in model.named_parameters() if not decayed(names[n][1])]
    return [{"params": decay, "weight_decay": wd}, {"params": rest, "weight_decay": 0.0}]


def structure(classes, model):
    """[laurel name, numel, decayed] for every parameter, in registration order."""
    names = classes["names"](model)
    return [[names[n][0], p.numel(), decayed(names[n][1])] for n, p in model.named_parameters()]


def time_steps(model, opt, loss_fn, warmup, steps, limit_ms=math.inf):
    """Step times in ms after `warmup` steps. Gives up (abandoned=True) once a step (any but the first)
    takes longer than limit_ms: such a setting cannot be the fastest, and on a loaded machine an oversubscribed
    thread setting can be 100x slower, which would blow the --quick time budget."""

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn()
        loss.backward()
        opt.step()
        return loss.item()

    times = []
    loss = float("nan")
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        loss = step()
        ms = (time.perf_counter() - t0) * 1000.0
        if i >= warmup:
            times.append(ms)
        if i > 0 and ms > limit_ms:  # the first step of a setting pays one-time costs
            return times or [ms], loss, True
    return times, loss, False


def merge(base, over):
    out = dict(base)
    for k, v in over.items():
        out[k] = merge(base[k], v) if isinstance(v, dict) and isinstance(base.get(k), dict) else v
    return out


def check(torch, classes, cfg, path):
    """Loads weights and a batch written by bench/models.ts (our layouts), returns the loss and grad norms."""
    F = torch.nn.functional
    with open(path) as f:
        spec = json.load(f)
    model_name, variant = spec["model"], spec["residual"]
    c = cfg[model_name]
    model = (classes["ResNet"] if model_name == "resnet" else classes["Gpt"])(c, variant, cfg["rank"].get(model_name))
    model.train()
    names = classes["names"](model)
    with torch.no_grad():
        for n, p in model.named_parameters():
            ours, _, _, from_laurel = names[n]
            if ours not in spec["params"]:
                raise ValueError(f"check: the weights lack {ours}")
            w = spec["params"][ours]
            t = from_laurel(torch.tensor(w["data"], dtype=torch.float32).reshape(w["shape"]))
            if tuple(t.shape) != tuple(p.shape):
                raise ValueError(f"check: {ours} has shape {list(t.shape)}, model has {list(p.shape)}")
            p.copy_(t)
    inp = spec["inputs"]
    if model_name == "resnet":
        x = torch.tensor(inp["data"], dtype=torch.float32).reshape(inp["shape"]).permute(0, 3, 1, 2).contiguous()
        y = torch.tensor(spec["targets"]["data"], dtype=torch.long)
        loss = F.cross_entropy(model(x), y)
    else:
        x = torch.tensor(inp["data"], dtype=torch.long).reshape(inp["shape"])
        y = torch.tensor(spec["targets"]["data"], dtype=torch.long).reshape(inp["shape"])
        loss = F.cross_entropy(model(x).reshape(-1, c["vocab"]), y.reshape(-1))
    loss.backward()
    grad_norms = {}
    for n, p in model.named_parameters():
        grad_norms[names[n][0]] = 0.0 if p.grad is None else float(p.grad.norm())
    return {"loss": float(loss), "grad_norms": grad_norms}


def search_settings(torch, classes, cfg, model_name, variant):
    """Times every setting (torch.set_num_threads value x memory format) and returns the case's report entry
    (torch_ms = the fastest setting's median) and the best (threads, memory format)."""
    formats = cfg["torchMemoryFormats"] if model_name == "resnet" else ["contiguous"]
    by_setting = {}
    by_threads = {}
    abandoned = []
    best_of = {}
    entry = {"model": model_name, "residual": variant}
    loss = float("nan")
    for fmt in formats:
        model, opt, loss_fn = make_case(torch, classes, cfg, model_name, variant, None, fmt)
        entry["params"] = sum(p.numel() for p in model.parameters())
        entry["structure"] = structure(classes, model)
        for n in cfg["threads"]:
            torch.set_num_threads(n)
            done = [v for k, v in by_setting.items() if k not in abandoned]
            limit = 3 * min(done) if done else math.inf
            times, loss, gave_up = time_steps(model, opt, loss_fn, cfg["warmup"], cfg["steps"], limit)
            ms = statistics.median(times)
            key = f"threads={n},{fmt}"
            by_setting[key] = ms
            best_of[key] = (n, fmt)
            if gave_up:
                abandoned.append(key)
                log(f"{model_name} {variant} {key}: gave up, a step took > 3x the best setting ({ms:.1f} ms)")
                continue
            by_threads[str(n)] = min(ms, by_threads.get(str(n), math.inf))
            log(f"{model_name} {variant} {key}: median {ms:.1f} ms over {len(times)} steps")
        del model, opt
    best = min((k for k in by_setting if k not in abandoned), key=lambda k: by_setting[k])
    entry.update(
        {
            "torch_ms": by_setting[best],
            "torch_threads": best_of[best][0],
            "torch_setting": best,
            "ms_by_threads": by_threads,
            "ms_by_setting": by_setting,
            "abandoned": abandoned,
            "loss": loss,
        }
    )
    return entry, best_of[best]


def serve(torch, classes, cfg):
    """--serve (serve.py's loop), so that bench/models.ts can alternate our steps and PyTorch's (both then see
    the same machine load):
      {"cmd": "setup", "model", "residual"}  search the settings (as the batch mode does), then build the case
                                             at the best setting; replies with the report entry
      {"cmd": "step", "model", "residual", "n"}  n steps at that setting; replies {"ms": [...], "loss"}
      {"cmd": "free", "model", "residual"}   drops the case"""
    cases = {}
    key = lambda req: (req.get("model"), req.get("residual"))  # noqa: E731

    def setup(req):
        entry, (threads, fmt) = search_settings(torch, classes, cfg, *key(req))
        model, opt, loss_fn = make_case(torch, classes, cfg, *key(req), None, fmt)
        cases[key(req)] = (model, opt, loss_fn, threads)
        return entry

    def step(req):
        model, opt, loss_fn, threads = cases[key(req)]
        torch.set_num_threads(threads)
        times, loss, _ = time_steps(model, opt, loss_fn, 0, int(req.get("n", 1)))
        return {"ms": times, "loss": loss}

    def free(req):
        cases.pop(key(req), None)
        return {"ok": True}

    return serve_lines(torch, {"setup": setup, "step": step, "free": free})


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="{}", help="JSON merged over the defaults (see DEFAULT_CONFIG)")
    ap.add_argument("--dry", action="store_true", help="build every model, run one step at batch 2, no timing")
    ap.add_argument("--check", metavar="FILE", help="loss and gradient norms on weights/batch from FILE (JSON)")
    ap.add_argument("--serve", action="store_true", help="request/reply mode on stdin/stdout (see serve())")
    ap.add_argument("--print-config", action="store_true", help="print the default config as JSON and exit")
    args = ap.parse_args()
    if args.print_config:
        print(json.dumps(DEFAULT_CONFIG))
        return 0
    cfg = merge(DEFAULT_CONFIG, json.loads(args.config))
    try:
        import torch
    except Exception as e:  # noqa: BLE001
        print(json.dumps({"available": False, "reason": f"cannot import torch in {sys.executable}: {e}"}))
        return 0
    torch.manual_seed(0)
    classes = build(torch, cfg)
    if args.check:
        torch.set_num_threads(1)
        print(json.dumps({"available": True, "torch_version": torch.__version__, **check(torch, classes, cfg, args.check)}))
        return 0
    if args.serve:
        return serve(torch, classes, cfg)
    results = []
    for model_name in cfg["models"]:
        for variant in cfg["residuals"]:
            if args.dry:
                model, opt, loss_fn = make_case(torch, classes, cfg, model_name, variant, 2)
                times, loss, _ = time_steps(model, opt, loss_fn, 0, 1)
                results.append(
                    {
                        "model": model_name,
                        "residual": variant,
                        "params": sum(p.numel() for p in model.parameters()),
                        "structure": structure(classes, model),
                        "loss": loss,
                    }
                )
                del model, opt
                continue
            entry, _ = search_settings(torch, classes, cfg, model_name, variant)
            results.append(entry)
    out = {
        "available": True,
        "torch_version": torch.__version__,
        "python": sys.executable,
        "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
        "dry": args.dry,
        "config": cfg,
        "results": results,
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
