#!/usr/bin/python3
"""PyTorch side of `laurel bench`: one training step of the benchmark models, timed.

Run with Debian's python3-torch (1.13, OpenBLAS):   /usr/bin/python3 bench/torch/step.py [options]
`bench/models.ts` runs it as a subprocess and reads ONE JSON object from stdout (logs go to stderr).

The models are plain-PyTorch copies of what `buildModel` builds in src/models (same layers, same order,
same parameter names in our dotted form, same weight-decay split), so that `bench/models.ts` can check
them name by name (`structure` in the output) and, with --check, on the same weights and inputs.

ResNet (src/models/resnet.ts, CIFAR family, option-B shortcuts):
  conv1 3x3/1 pad 1 (no bias) -> bn1 -> ReLU -> layer1..3 (n BasicBlocks each, 16/32/64 planes, stride 2 on
  the first block of layers 2 and 3) -> global mean over H, W -> fc (bias).
  BasicBlock: f = bn2(conv2(ReLU(bn1(conv1(x))))), s = downsample(x) (1x1/stride conv + BN where the shape
  changes) or x, y = ReLU(R(f, s)).
GPT (src/models/gpt.ts, pre-norm, learned positions, tied head, biases, no dropout, LAUREL placement 'block'):
  x = wte[tok] + wpe[:T]; per layer: a = Attn(LN1(x)); h = x + a; m = MLP(LN2(h)); x' = R(a + m, x);
  logits = LN_f(x) @ wte^T.  Attn: fused qkv Linear, causal additive mask (-1e9), softmax, proj Linear.
  MLP: Linear D->4D, GELU (tanh), Linear 4D->D.
R (src/laurel/math.ts):  baseline: f + x;  rw+lr: a*f + b*(x + (x@V)@U), (a, b) = 2*softmax(w), w [2] = 0,
  V [D, r] Xavier-uniform, U [r, D] = 0.  Rank: the given one or min(16, D - 1) as src/laurel/config.ts
  resolveRank does; in ResNet blocks a given rank >= D is capped at D - 1 (src/models/resnet.ts
  blockResidual), so ResNet-20 at rank 16 has r = 15 in its 16-channel stage and 16 in the others.
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

CIFAR_DEPTHS = {"resnet20": 3, "resnet32": 5, "resnet44": 7, "resnet56": 9, "resnet110": 18}


def log(msg):
    print(f"[torch] {msg}", file=sys.stderr, flush=True)


def resolve_rank(rank, dim, cap=False):
    """src/laurel/config.ts resolveRank: the given rank (1 <= r < D) or min(16, D - 1). With cap (ResNet
    blocks, src/models/resnet.ts blockResidual) a given rank >= D becomes D - 1."""
    if cap and rank is not None and rank >= dim:
        rank = max(1, dim - 1)
    if rank is None:
        return min(16, dim - 1)
    if not (isinstance(rank, int) and 1 <= rank < dim):
        raise ValueError(f"bad rank {rank}; allowed: an integer with 1 <= rank < D = {dim}")
    return rank


def build(torch, cfg):
    """Defines the modules (inside a function so that --help works without torch)."""
    nn = torch.nn
    F = torch.nn.functional

    class Residual(nn.Module):
        """baseline: f + x;  rw+lr: a*f + b*(x + U.V.x) on the channel axis `axis` (1: NCHW, -1: [.., D])."""

        def __init__(self, variant, dim, rank, axis, cap=False):
            super().__init__()
            if variant not in ("baseline", "rw+lr"):
                raise ValueError(f"bad residual '{variant}'; allowed: 'baseline', 'rw+lr'")
            self.variant = variant
            self.axis = axis
            if variant == "rw+lr":
                r = resolve_rank(rank, dim, cap)
                a = math.sqrt(6.0 / (dim + r))
                self.w = nn.Parameter(torch.zeros(2))
                self.V = nn.Parameter(torch.empty(dim, r).uniform_(-a, a))
                self.U = nn.Parameter(torch.zeros(r, dim))

        def low_rank(self, x):
            if self.axis == 1:  # NCHW: two 1x1 convs
                h = F.conv2d(x, self.V.t()[:, :, None, None])
                return F.conv2d(h, self.U.t()[:, :, None, None])
            return (x @ self.V) @ self.U

        def forward(self, fx, x):
            if self.variant == "baseline":
                return fx + x
            ab = 2 * torch.softmax(self.w, 0)
            return ab[0] * fx + ab[1] * (x + self.low_rank(x))

    class Conv(nn.Module):
        """Conv2d without bias; `kernel` stored OIHW (ours is HWIO), kaiming-normal fan_out."""

        def __init__(self, cin, cout, k, stride=1, padding=0):
            super().__init__()
            self.stride, self.padding = stride, padding
            self.kernel = nn.Parameter(torch.randn(cout, cin, k, k) * math.sqrt(2.0 / (cout * k * k)))

        def forward(self, x):
            return F.conv2d(x, self.kernel, None, self.stride, self.padding)

    class BatchNorm(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.gamma = nn.Parameter(torch.ones(c))
            self.beta = nn.Parameter(torch.zeros(c))
            self.register_buffer("runningMean", torch.zeros(c))
            self.register_buffer("runningVar", torch.ones(c))

        def forward(self, x):
            return F.batch_norm(x, self.runningMean, self.runningVar, self.gamma, self.beta, self.training, 0.1, 1e-5)

    class Linear(nn.Module):
        """`kernel` stored [out, in] for F.linear (ours is [in, out])."""

        def __init__(self, din, dout, bias=True, std=None):
            super().__init__()
            if std is None:  # PyTorch default: U(+-1/sqrt(fan_in))
                b = 1.0 / math.sqrt(din)
                self.kernel = nn.Parameter(torch.empty(dout, din).uniform_(-b, b))
                self.bias = nn.Parameter(torch.empty(dout).uniform_(-b, b)) if bias else None
            else:
                self.kernel = nn.Parameter(torch.randn(dout, din) * std)
                self.bias = nn.Parameter(torch.zeros(dout)) if bias else None

        def forward(self, x):
            return F.linear(x, self.kernel, self.bias)

    class Downsample(nn.Sequential):
        def __init__(self, cin, cout, stride):
            super().__init__(Conv(cin, cout, 1, stride), BatchNorm(cout))

    class BasicBlock(nn.Module):
        def __init__(self, cin, planes, stride, variant, rank):
            super().__init__()
            self.conv1 = Conv(cin, planes, 3, stride, 1)
            self.bn1 = BatchNorm(planes)
            self.conv2 = Conv(planes, planes, 3, 1, 1)
            self.bn2 = BatchNorm(planes)
            self.downsample = Downsample(cin, planes, stride) if (stride != 1 or cin != planes) else None
            self.residual = Residual(variant, planes, rank, 1, cap=True)

        def forward(self, x):
            fx = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
            s = self.downsample(x) if self.downsample is not None else x
            return F.relu(self.residual(fx, s))

    class ResNet(nn.Module):
        def __init__(self, c, variant, rank):
            super().__init__()
            n = CIFAR_DEPTHS[c["arch"]]
            self.conv1 = Conv(c["channels"], 16, 3, 1, 1)
            self.bn1 = BatchNorm(16)
            cin = 16
            for s, planes in enumerate((16, 32, 64)):
                blocks = []
                for b in range(n):
                    blocks.append(BasicBlock(cin, planes, 2 if (b == 0 and s > 0) else 1, variant, rank))
                    cin = planes
                setattr(self, f"layer{s + 1}", nn.Sequential(*blocks))
            self.fc = Linear(64, c["classes"])

        def forward(self, x):
            h = F.relu(self.bn1(self.conv1(x)))
            h = self.layer3(self.layer2(self.layer1(h)))
            return self.fc(h.mean((2, 3)))

    class LayerNorm(nn.Module):
        def __init__(self, d):
            super().__init__()
            self.gamma = nn.Parameter(torch.ones(d))
            self.beta = nn.Parameter(torch.zeros(d))

        def forward(self, x):
            return F.layer_norm(x, (x.shape[-1],), self.gamma, self.beta, 1e-5)

    class Embedding(nn.Module):
        def __init__(self, n, d):
            super().__init__()
            self.table = nn.Parameter(torch.randn(n, d) * 0.02)

    class Attention(nn.Module):
        def __init__(self, d, heads, context, proj_std):
            super().__init__()
            self.heads = heads
            self.qkv = Linear(d, 3 * d, std=0.02)
            self.proj = Linear(d, d, std=proj_std)
            mask = torch.full((context, context), -1e9).triu(1)
            self.register_buffer("mask", mask, persistent=False)

        def forward(self, x):
            b, t, d = x.shape
            h = self.heads
            qkv = self.qkv(x).view(b, t, 3, h, d // h).permute(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(d // h)) + self.mask[:t, :t]
            y = torch.softmax(scores, -1) @ v
            return self.proj(y.transpose(1, 2).reshape(b, t, d))

    class Mlp(nn.Module):
        def __init__(self, d, ratio, proj_std):
            super().__init__()
            hidden = round(ratio * d)
            self.fc = Linear(d, hidden, std=0.02)
            self.proj = Linear(hidden, d, std=proj_std)

        def forward(self, x):
            return self.proj(F.gelu(self.fc(x), approximate="tanh"))

    class GptLayer(nn.Module):
        def __init__(self, c, variant, rank):
            super().__init__()
            d = c["dim"]
            proj_std = 0.02 / math.sqrt(2 * c["layers"])
            self.ln1 = LayerNorm(d)
            self.attn = Attention(d, c["heads"], c["context"], proj_std)
            self.ln2 = LayerNorm(d)
            self.mlp = Mlp(d, c["mlpRatio"], proj_std)
            self.residual = Residual(variant, d, rank, -1) if variant != "baseline" else None

        def forward(self, x):
            a = self.attn(self.ln1(x))
            h = x + a
            m = self.mlp(self.ln2(h))
            if self.residual is not None:
                return self.residual(a + m, x)
            return h + m

    class Gpt(nn.Module):
        def __init__(self, c, variant, rank):
            super().__init__()
            self.vocab = c["vocab"]
            self.wte = Embedding(c["vocab"], c["dim"])
            self.wpe = Embedding(c["context"], c["dim"])
            self.layers = nn.Sequential(*[GptLayer(c, variant, rank) for _ in range(c["layers"])])
            self.lnF = LayerNorm(c["dim"])

        def forward(self, tokens):
            t = tokens.shape[1]
            x = self.wte.table[tokens] + self.wpe.table[:t]
            x = self.lnF(self.layers(x))
            return x @ self.wte.table.t()

    return {"ResNet": ResNet, "Gpt": Gpt}


def decayed(name):
    """Our ParamKind split: conv/linear kernels ('weight') and embedding tables decay; the rest does not."""
    return name.endswith(".kernel") or name.endswith(".table")


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
        groups = param_groups(model, c["weightDecay"])
        opt = torch.optim.SGD(groups, lr=c["lr"], momentum=c["momentum"], foreach=True)
    elif model_name == "gpt":
        c = cfg["gpt"]
        model = classes["Gpt"](c, variant, cfg["rank"].get("gpt"))
        n = batch_override or c["batch"]
        tok = torch.randint(0, c["vocab"], (n, c["context"] + 1), generator=g)
        x, y = tok[:, :-1].contiguous(), tok[:, 1:].contiguous()
        loss_fn = lambda: F.cross_entropy(model(x).reshape(-1, c["vocab"]), y.reshape(-1))  # noqa: E731
        groups = param_groups(model, c["weightDecay"])
        opt = torch.optim.AdamW(groups, lr=c["lr"], betas=(0.9, 0.999), eps=1e-8, foreach=True)
    else:
        raise ValueError(f"bad model '{model_name}'; allowed: resnet, gpt")
    model.train()
    return model, opt, loss_fn


def param_groups(model, wd):
    decay = [p for n, p in model.named_parameters() if decayed(n)]
    rest = [p for n, p in model.named_parameters() if not decayed(n)]
    return [{"params": decay, "weight_decay": wd}, {"params": rest, "weight_decay": 0.0}]


def structure(model):
    """[name, numel, decayed] for every parameter, in registration order (our names)."""
    return [[n, p.numel(), decayed(n)] for n, p in model.named_parameters()]


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
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, w in spec["params"].items():
            t = torch.tensor(w["data"], dtype=torch.float32).reshape(w["shape"])
            p = params[name]
            if name.endswith(".kernel") and t.dim() == 4:  # HWIO -> OIHW
                t = t.permute(3, 2, 0, 1)
            elif name.endswith(".kernel") and t.dim() == 2:  # [in, out] -> [out, in]
                t = t.t()
            if tuple(t.shape) != tuple(p.shape):
                raise ValueError(f"check: {name} has shape {list(t.shape)}, model has {list(p.shape)}")
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
        grad_norms[n] = 0.0 if p.grad is None else float(p.grad.norm())
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
        entry["structure"] = structure(model)
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
    """--serve: one JSON request per stdin line, one JSON reply per stdout line, so that bench/models.ts can
    alternate our steps and PyTorch's (both then see the same machine load):
      {"cmd": "setup", "model", "residual"}  search the settings (as the batch mode does), then build the case
                                             at the best setting; replies with the report entry
      {"cmd": "step", "model", "residual", "n"}  n steps at that setting; replies {"ms": [...], "loss"}
      {"cmd": "free", "model", "residual"}   drops the case
    Errors reply {"error": message}. EOF ends the process."""
    cases = {}

    def reply(obj):
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    reply({"available": True, "torch_version": torch.__version__, "python": sys.executable})
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            key = (req.get("model"), req.get("residual"))
            cmd = req["cmd"]
            if cmd == "setup":
                entry, (threads, fmt) = search_settings(torch, classes, cfg, *key)
                model, opt, loss_fn = make_case(torch, classes, cfg, key[0], key[1], None, fmt)
                cases[key] = (model, opt, loss_fn, threads)
                reply(entry)
            elif cmd == "step":
                model, opt, loss_fn, threads = cases[key]
                torch.set_num_threads(threads)
                times, loss, _ = time_steps(model, opt, loss_fn, 0, int(req.get("n", 1)))
                reply({"ms": times, "loss": loss})
            elif cmd == "free":
                cases.pop(key, None)
                reply({"ok": True})
            else:
                reply({"error": f"bad cmd '{cmd}'; allowed: setup, step, free"})
        except Exception as e:  # noqa: BLE001
            reply({"error": f"{type(e).__name__}: {e}"})
    return 0


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
                        "structure": structure(model),
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
