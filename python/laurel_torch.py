"""PyTorch peers of laurel's models, for weights exported with `laurel export --layout torch`.

    import laurel_torch as lt
    model = lt.from_safetensors("runs/r20/model.safetensors")    # builds from the file's metadata, strict load
    # or, with the pip package:  model = lt.from_spec(spec); model.load_state_dict(safetensors.torch.load_file(p))

What is here (each mirrors the TypeScript file named, same formulas, same parameter order):
  Residual        every LAUREL variant (src/laurel/residual.ts, math.ts): baseline, rw, lr, pa, rw+lr, rw+pa,
                  lr+pa, rw+lr+pa, gemma3n, general, and the neighbours rezero (x + a f(x)) and layerscale
                  (x + diag(lambda) f(x)), dwa (DenseFormer's depth-weighted average, src/laurel/math.ts dwa); on
                  the last axis or, for NCHW maps, on axis 1
  ResNet          torchvision-style ResNet-18/34/50/101/152 and CIFAR-style ResNet-20/32/44/56/110 with option-B
                  projection shortcuts (src/models/resnet.ts); input NCHW; names as torchvision's
  Gpt             the pre-norm decoder (src/models/gpt.ts): learned or rotary positions, tied or untied head,
                  LAUREL placement block / attention / mlp / both
  from_spec       a model from laurel's ModelSpec (config.json's "spec", or the file's "laurel.spec" metadata)
  load_file, save_file, load_metadata
                  a small safetensors reader and writer (Debian has no python3-safetensors); load_file returns
                  what safetensors.torch.load_file returns: a dict name -> CPU tensor in the stored dtype
  laurel_names    torch name -> (laurel name, kind, to laurel layout, from laurel layout), for tools that speak
                  laurel's names (bench/torch/step.py)

Layouts (docs/formats.md): conv weight OIHW (ours HWIO), linear weight [out, in] (ours [in, out]), norm
weight/bias (ours gamma/beta), BN running_mean/running_var/num_batches_tracked (ours runningMean/runningVar),
embedding weight (ours table); LAUREL parameters keep our names and shapes: w [2] | [D, 2], alphaBeta, p,
V [D, r] | [k, D, r], U [r, D] | [k, r, D], gamma [k], normScale [D], alpha [] (general, rezero), lambda [D]
(layerscale), dwa [k + 1] (x -> (x @ V) @ U on channels).
"""

import json
import math
import struct

import torch
import torch.nn.functional as F
from torch import nn

# ----------------------------------------------------------------------------------------------- safetensors

MAX_HEADER_BYTES = 100_000_000
_DTYPES = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}
_NAMES = {v: k for k, v in _DTYPES.items()}


def _no_duplicates(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"'{k}' appears twice in the header")
        out[k] = v
    return out


def _read_header(path):
    """(header dict, data section) of a safetensors file; ValueError naming the file for anything malformed."""
    with open(path, "rb") as f:
        data = f.read()
    try:
        if len(data) < 8:
            raise ValueError(f"{len(data)} bytes, shorter than the 8-byte header length")
        (n,) = struct.unpack("<Q", data[:8])
        if n > MAX_HEADER_BYTES:
            raise ValueError(f"header length {n} exceeds the limit of {MAX_HEADER_BYTES} bytes")
        if 8 + n > len(data):
            raise ValueError(f"header length {n} runs past the end of the file ({len(data)} bytes)")
        text = data[8 : 8 + n].decode("utf-8")
        if not text.startswith("{"):
            raise ValueError("header does not start with '{'")
        header = json.loads(text, object_pairs_hook=_no_duplicates)
        meta = header.get("__metadata__", {})
        if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
            raise ValueError("__metadata__ is not an object of strings")
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"safetensors: {path}: header is not valid UTF-8 JSON: {e}") from None
    except ValueError as e:
        raise ValueError(f"safetensors: {path}: {e}") from None
    return header, memoryview(data)[8 + n :]


def load_metadata(path):
    """The file's __metadata__ (string -> string), {} when it has none."""
    return dict(_read_header(path)[0].get("__metadata__", {}))


def load_file(path):
    """name -> tensor (CPU, stored dtype), as safetensors.torch.load_file returns, checking what the reference
    checks: known dtypes, sizes that match shapes, offsets that tile the data section from 0 to its end."""
    header, data = _read_header(path)
    infos = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
            raise ValueError(f"safetensors: {path}: tensor '{name}' needs exactly dtype, shape, data_offsets")
        if info["dtype"] not in _DTYPES:
            raise ValueError(f"safetensors: {path}: tensor '{name}' has unsupported dtype {info['dtype']}")
        infos.append((name, info))
    infos.sort(key=lambda kv: kv[1]["data_offsets"])
    out = {}
    pos = 0
    for name, info in infos:
        dtype = _DTYPES[info["dtype"]]
        begin, end = info["data_offsets"]
        shape = list(info["shape"])
        size = math.prod(shape) * torch.tensor([], dtype=dtype).element_size()
        if begin != pos or end - begin != size:
            raise ValueError(f"safetensors: {path}: tensor '{name}' has bad data_offsets {[begin, end]}")
        pos = end
        raw = bytearray(data[begin:end])
        t = torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)
        out[name] = t.reshape(shape)
    if pos != len(data):
        raise ValueError(f"safetensors: {path}: data section has {len(data)} bytes, the tensors use {pos}")
    return out


def save_file(tensors, path, metadata=None):
    """Writes name -> tensor as safetensors (header padded with spaces to 8 bytes, larger dtypes first)."""
    items = sorted(tensors.items(), key=lambda kv: -kv[1].element_size())
    header = {"__metadata__": dict(metadata)} if metadata else {}
    blobs = []
    pos = 0
    for name, t in items:
        b = t.detach().contiguous().cpu().numpy().tobytes() if t.dtype != torch.bfloat16 else _bf16_bytes(t)
        header[name] = {"dtype": _NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [pos, pos + len(b)]}
        blobs.append(b)
        pos += len(b)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def _bf16_bytes(t):
    return t.detach().contiguous().cpu().view(torch.int16).numpy().tobytes()


# ------------------------------------------------------------------------------------------------- LAUREL

VARIANTS = (
    "baseline", "rw", "lr", "pa", "rw+lr", "rw+pa", "lr+pa", "rw+lr+pa", "gemma3n", "general", "rezero", "layerscale", "dwa",
)
DEFAULT_LAYER_SCALE_INIT = 1e-4  # src/laurel/variants/layerscale.ts


def has_rw(v):
    return v == "rw" or v.startswith("rw+")


def has_pa(v):
    return v.endswith("pa")


def reads_history(v):
    """src/laurel/variants: the variants that read earlier block inputs (PA, dwa, general)."""
    return has_pa(v) or v in ("dwa", "general")


def has_per_j_low_rank(v):
    return v in ("lr+pa", "rw+lr+pa")


def has_low_rank(cfg):
    v = cfg["variant"]
    if v in ("lr", "rw+lr", "gemma3n") or has_per_j_low_rank(v):
        return True
    return v in ("pa", "rw+pa") and cfg.get("paH", "lowrank") != "identity"


def resolve_rank(cfg, dim):
    """src/laurel/config.ts resolveRank: the given rank (1 <= r < D) or the default (16; gemma3n 64) capped at D - 1."""
    rank = cfg.get("rank")
    if rank is None:
        return min(64 if cfg["variant"] == "gemma3n" else 16, dim - 1)
    if not (isinstance(rank, int) and 1 <= rank < dim):
        raise ValueError(f"Residual: bad rank {rank}; allowed: an integer with 1 <= rank < D = {dim}")
    return rank


def residual_config(variant="baseline", **opts):
    """A residual config dict as laurel's residualConfig writes it (camelCase keys: rank, k, rwNorm, rwPerDim,
    vInit, paH, layerScaleInit); keyword names may also be snake_case (rw_norm, rw_per_dim, v_init, pa_h,
    layer_scale_init)."""
    if variant not in VARIANTS:
        raise ValueError(f"bad variant '{variant}'; allowed: {', '.join(VARIANTS)}")
    cfg = {"variant": variant}
    for k, v in opts.items():
        if v is not None:
            cfg[{"rw_norm": "rwNorm", "rw_per_dim": "rwPerDim", "v_init": "vInit", "pa_h": "paH",
                 "layer_scale_init": "layerScaleInit"}.get(k, k)] = v
    return cfg


def block_residual(cfg, dim):
    """src/models/resnet.ts blockResidual: a given rank >= a block's width becomes width - 1."""
    if cfg.get("rank") is not None and cfg["rank"] >= dim:
        return {**cfg, "rank": max(1, dim - 1)}
    return cfg


def _xavier(shape, fan_in, fan_out):
    a = math.sqrt(6.0 / (fan_in + fan_out))
    return torch.empty(shape).uniform_(-a, a)


def _column_orthogonal(dim, r, copies=0):
    v = torch.zeros(dim, r)
    v[torch.arange(dim), torch.arange(dim) % r] = 1.0 / math.sqrt(r * dim)
    return v.repeat(copies, 1, 1) if copies else v


class ActivationHistory:
    """The earlier block inputs PA reads, newest first; keeps k - 1 (src/laurel/history.ts)."""

    def __init__(self, k):
        self.k = k
        self.items = []

    def push(self, x):
        if self.k > 1:
            self.items = [x, *self.items][: self.k - 1]

    def recent(self, n=None):
        return self.items[: (self.k - 1 if n is None else max(0, n))]


class Residual(nn.Module):
    """x_{i+1} = R(f(x_i), x_i) for a LAUREL config (src/laurel/math.ts). `axis` is the channel axis D acts on:
    -1 for [..., D], 1 for NCHW feature maps. Parameters as laurel's Residual (names, shapes, order, init)."""

    def __init__(self, cfg, dim, axis=-1, g=None):
        super().__init__()
        cfg = residual_config(**cfg) if isinstance(cfg, dict) else residual_config(cfg)
        v = cfg["variant"]
        self.cfg, self.variant, self.dim, self.axis, self.g = cfg, v, dim, axis, g
        self.norm = cfg.get("rwNorm", "softmax")
        self.k = cfg.get("k", 3) if has_pa(v) or v == "dwa" else 1
        if v == "general" and g is None:
            raise ValueError("Residual: variant 'general' needs g(x, history)")
        if has_rw(v):
            per_dim = cfg.get("rwPerDim", False)
            if self.norm == "sigmoid":
                self.p = nn.Parameter(torch.zeros(dim) if per_dim else torch.zeros(()))
            elif self.norm == "none":
                self.alphaBeta = nn.Parameter(torch.ones(dim, 2) if per_dim else torch.ones(2))
            else:
                self.w = nn.Parameter(torch.zeros(dim, 2) if per_dim else torch.zeros(2))
        if has_low_rank(cfg):
            r = resolve_rank(cfg, dim)
            copies = self.k if has_per_j_low_rank(v) else 0
            lead = [copies] if copies else []
            if cfg.get("vInit", "xavier") == "column-orthogonal":
                self.V = nn.Parameter(_column_orthogonal(dim, r, copies))
            else:
                self.V = nn.Parameter(_xavier([*lead, dim, r], dim, r))
            self.U = nn.Parameter(_xavier([r, dim], r, dim) if v == "gemma3n" else torch.zeros(*lead, r, dim))
        if has_pa(v):
            self.gamma = nn.Parameter(torch.zeros(self.k) if cfg.get("paH") == "identity" else torch.ones(self.k))
        if v == "gemma3n":
            self.normScale = nn.Parameter(torch.ones(dim))
        if v == "general":
            self.alpha = nn.Parameter(torch.ones(()))
        if v == "rezero":
            self.alpha = nn.Parameter(torch.zeros(()))
        if v == "dwa":
            self.dwa = nn.Parameter(torch.eye(1, self.k + 1)[0])
        if v == "layerscale":
            self.__setattr__("lambda", nn.Parameter(torch.full((dim,), cfg.get("layerScaleInit", DEFAULT_LAYER_SCALE_INIT))))

    def _channels(self, t):
        """A length-D vector shaped to broadcast over the channel axis."""
        if self.axis in (-1, None) or t.dim() == 0:
            return t
        return t.reshape(-1, *([1] * 2))  # NCHW: [D, 1, 1]

    def _low_rank(self, x, V, U):
        if self.axis == 1 and x.dim() == 4:  # NCHW: two 1x1 convolutions
            return F.conv2d(F.conv2d(x, V.t()[:, :, None, None]), U.t()[:, :, None, None])
        return (x @ V) @ U

    def _alpha_beta(self):
        if self.norm == "sigmoid":
            a = torch.sigmoid(self.p)
            return self._channels(a), self._channels(1 - a)
        pair = 2 * torch.softmax(self.w, -1) if self.norm == "softmax" else self.alphaBeta
        return self._channels(pair[..., 0]), self._channels(pair[..., 1])

    def _combine(self, fx, x, extra=None):
        """alpha*f + beta*(x + extra), alpha = beta = 1 without RW, extra = 0 when None."""
        inner = x if extra is None else x + extra
        if not has_rw(self.variant):
            return fx + inner
        a, b = self._alpha_beta()
        return a * fx + b * inner

    def forward(self, fx, x, history=None, x_normed=None):
        v = self.variant
        prev = []
        if history is not None and reads_history(v):
            prev = history.recent() if v == "general" else history.recent(self.k - 1)
        out = self._compute(fx, x, prev, x if x_normed is None else x_normed)
        if history is not None:
            history.push(x)
        return out

    def _compute(self, fx, x, prev, x_hat):
        v = self.variant
        if v == "baseline":
            return fx + x
        if v == "general":
            return self.alpha * fx + self.g(x, prev)
        if v == "rezero":
            return x + self.alpha * fx
        if v == "dwa":
            xs = [x, *prev[: self.k - 1]]
            return self.dwa[0] * (x + fx) + sum(self.dwa[j + 1] * xj for j, xj in enumerate(xs))
        if v == "layerscale":
            return x + self._channels(getattr(self, "lambda")) * fx
        if v == "gemma3n":
            y = self._low_rank(x_hat, self.V, self.U)
            ax = self.axis if self.axis is not None else -1
            y = y * torch.rsqrt(y.pow(2).mean(ax, keepdim=True) + 1e-6) * self._channels(self.normScale)
            return (x + fx + x_hat + y) * math.sqrt(0.5)
        if v in ("rw", "lr", "rw+lr"):
            return self._combine(fx, x, self._low_rank(x, self.V, self.U) if v != "rw" else None)
        xs = [x, *prev[: self.k - 1]]
        gamma = self.gamma[: len(xs)]
        if has_per_j_low_rank(v):
            extra = sum(gamma[j] * self._low_rank(xj, self.V[j], self.U[j]) for j, xj in enumerate(xs))
        else:
            s = sum(gamma[j] * xj for j, xj in enumerate(xs))
            extra = self._low_rank(s, self.V, self.U) if has_low_rank(self.cfg) else s
        return self._combine(fx, x, extra)


# ------------------------------------------------------------------------------------------------- ResNet

_ARCHS = {
    "resnet18": ("basic", [2, 2, 2, 2], "imagenet"),
    "resnet34": ("basic", [3, 4, 6, 3], "imagenet"),
    "resnet50": ("bottleneck", [3, 4, 6, 3], "imagenet"),
    "resnet101": ("bottleneck", [3, 4, 23, 3], "imagenet"),
    "resnet152": ("bottleneck", [3, 8, 36, 3], "imagenet"),
    "resnet20": ("basic", [3, 3, 3], "cifar"),
    "resnet32": ("basic", [5, 5, 5], "cifar"),
    "resnet44": ("basic", [7, 7, 7], "cifar"),
    "resnet56": ("basic", [9, 9, 9], "cifar"),
    "resnet110": ("basic", [18, 18, 18], "cifar"),
}


def _conv(cin, cout, k, stride=1, padding=0):
    conv = nn.Conv2d(cin, cout, k, stride, padding, bias=False)
    nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
    return conv


class Block(nn.Module):
    """BasicBlock (two 3x3 convs) or Bottleneck v1.5 (1x1, 3x3 with the stride, 1x1 x4): y = ReLU(R(f(x), s(x)))
    with s the identity or the downsample projection (1x1 conv + BN), R the LAUREL residual on channels."""

    def __init__(self, kind, cin, planes, stride, residual):
        super().__init__()
        out = planes * (4 if kind == "bottleneck" else 1)
        self.kind = kind
        if kind == "basic":
            self.conv1, self.bn1 = _conv(cin, planes, 3, stride, 1), nn.BatchNorm2d(planes)
            self.conv2, self.bn2 = _conv(planes, planes, 3, 1, 1), nn.BatchNorm2d(planes)
        else:
            self.conv1, self.bn1 = _conv(cin, planes, 1), nn.BatchNorm2d(planes)
            self.conv2, self.bn2 = _conv(planes, planes, 3, stride, 1), nn.BatchNorm2d(planes)
            self.conv3, self.bn3 = _conv(planes, out, 1), nn.BatchNorm2d(out)
        self.downsample = (
            nn.Sequential(_conv(cin, out, 1, stride), nn.BatchNorm2d(out)) if stride != 1 or cin != out else None
        )
        self.residual = Residual(block_residual(residual, out), out, axis=1)

    def forward(self, x, history=None):
        h = F.relu(self.bn1(self.conv1(x)))
        if self.kind == "basic":
            fx = self.bn2(self.conv2(h))
        else:
            fx = self.bn3(self.conv3(F.relu(self.bn2(self.conv2(h)))))
        s = x if self.downsample is None else self.downsample(x)
        return F.relu(self.residual(fx, s, history))


class Stage(nn.Sequential):
    """torchvision's layerN (blocks named 0, 1, ...); PA's history restarts here."""

    def forward(self, x):
        r = self[0].residual
        history = ActivationHistory(r.cfg.get("k", 3)) if reads_history(r.variant) else None
        for block in self:
            x = block(x, history)
        return x


class ResNet(nn.Module):
    """laurel's ResNet (src/models/resnet.ts). forward(x): NCHW float images -> logits [N, classes]."""

    def __init__(self, arch, num_classes=None, in_channels=None, residual=None, extra_blocks=0, extra_stage=3):
        super().__init__()
        if arch not in _ARCHS:
            raise ValueError(f"bad arch '{arch}'; allowed: {', '.join(_ARCHS)}")
        kind, layers, style = _ARCHS[arch]
        imagenet = style == "imagenet"
        num_classes = num_classes or (1000 if imagenet else 10)
        in_channels = in_channels or (3 if imagenet else 1)
        residual = residual_config(**residual) if isinstance(residual, dict) else residual_config(residual or "baseline")
        self.imagenet = imagenet
        stem = 64 if imagenet else 16
        self.conv1 = _conv(in_channels, stem, 7, 2, 3) if imagenet else _conv(in_channels, stem, 3, 1, 1)
        self.bn1 = nn.BatchNorm2d(stem)
        cin = stem
        for s, n in enumerate(layers):
            planes = (64 if imagenet else 16) * 2**s
            count = n + (extra_blocks if s + 1 == extra_stage else 0)
            blocks = []
            for b in range(count):
                blocks.append(Block(kind, cin, planes, 2 if b == 0 and s > 0 else 1, residual))
                cin = planes * (4 if kind == "bottleneck" else 1)
            setattr(self, f"layer{s + 1}", Stage(*blocks))
        self.stages = len(layers)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        if self.imagenet:
            h = F.max_pool2d(h, 3, 2, 1)
        for s in range(self.stages):
            h = getattr(self, f"layer{s + 1}")(h)
        return self.fc(h.mean((2, 3)))


# ---------------------------------------------------------------------------------------------------- GPT


class LayerNorm(nn.Module):
    """LayerNorm over the last axis with an optional bias (nn.LayerNorm has no bias=False in torch < 2.1)."""

    def __init__(self, d, bias=True):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.bias = nn.Parameter(torch.zeros(d)) if bias else None

    def forward(self, x):
        return F.layer_norm(x, (x.shape[-1],), self.weight, self.bias, 1e-5)


def _linear(din, dout, bias, std):
    lin = nn.Linear(din, dout, bias=bias)
    nn.init.normal_(lin.weight, 0.0, std)
    if bias:
        nn.init.zeros_(lin.bias)
    return lin


class Attention(nn.Module):
    """Causal multi-head self-attention, fused qkv (src/nn/attention.ts); rotary: half-rotation RoPE, base 10000."""

    def __init__(self, d, heads, context, rotary, bias, proj_std):
        super().__init__()
        self.heads, self.rotary = heads, rotary
        self.qkv = _linear(d, 3 * d, bias, 0.02)
        self.proj = _linear(d, d, bias, proj_std)
        self.register_buffer("mask", torch.full((context, context), -1e9).triu(1), persistent=False)
        if rotary:
            hd = d // heads
            half = hd // 2
            freq = torch.tensor([10000.0 ** (-(2 * i) / hd) for i in range(half)], dtype=torch.float64)
            angle = torch.arange(context, dtype=torch.float64)[:, None] * freq[None, :]
            self.register_buffer("cos", torch.cat([angle.cos()] * 2, 1).float(), persistent=False)
            self.register_buffer("sin", torch.cat([angle.sin()] * 2, 1).float(), persistent=False)

    def _rope(self, x, t):
        half = x.shape[-1] // 2
        rotated = torch.cat([-x[..., half:], x[..., :half]], -1)
        return x * self.cos[:t] + rotated * self.sin[:t]

    def forward(self, x):
        b, t, d = x.shape
        h = self.heads
        q, k, v = self.qkv(x).view(b, t, 3, h, d // h).permute(2, 0, 3, 1, 4)
        if self.rotary:
            q, k = self._rope(q, t), self._rope(k, t)
        scores = (q * (1.0 / math.sqrt(d // h))) @ k.transpose(-2, -1) + self.mask[:t, :t]
        y = torch.softmax(scores, -1) @ v
        return self.proj(y.transpose(1, 2).reshape(b, t, d))


class Mlp(nn.Module):
    def __init__(self, d, ratio, bias, proj_std):
        super().__init__()
        hidden = round(ratio * d)
        self.fc = _linear(d, hidden, bias, 0.02)
        self.proj = _linear(hidden, d, bias, proj_std)

    def forward(self, x):
        return self.proj(F.gelu(self.fc(x), approximate="tanh"))


def laurel_sites(variant, placement):
    """src/models/gpt.ts laurelSites: which of a layer's residual connections are LAUREL ones."""
    if variant == "baseline":
        return {"block": False, "attention": False, "mlp": False}
    if variant == "gemma3n":
        return {"block": False, "attention": True, "mlp": False}
    return {"block": placement == "block", "attention": placement in ("attention", "both"), "mlp": placement in ("mlp", "both")}


class GptLayer(nn.Module):
    """a = Attn(LN1(x)); h = x + a (or R_attn(a, x)); m = MLP(LN2(h)); x' = h + m, R(a + m, x) or R_mlp(m, h)."""

    def __init__(self, c, residual):
        super().__init__()
        d, bias = c["dim"], c["bias"]
        proj_std = 0.02 / math.sqrt(2 * (c["layers"] + c["extraLayers"]))
        self.ln1 = LayerNorm(d, bias)
        self.attn = Attention(d, c["heads"], c["context"], c["positions"] == "rotary", bias, proj_std)
        self.ln2 = LayerNorm(d, bias)
        self.mlp = Mlp(d, c["mlpRatio"], bias, proj_std)
        sites = laurel_sites(residual["variant"], c["placement"])
        self.residual = Residual(residual, d) if sites["block"] else None
        self.residualAttn = Residual(residual, d) if sites["attention"] else None
        self.residualMlp = Residual(residual, d) if sites["mlp"] else None

    def forward(self, x, history=None):
        xn = self.ln1(x)
        a = self.attn(xn)
        h = self.residualAttn(a, x, history, xn) if self.residualAttn is not None else x + a
        hn = self.ln2(h)
        m = self.mlp(hn)
        if self.residual is not None:
            return self.residual(a + m, x, history, xn)
        if self.residualMlp is not None:
            return self.residualMlp(m, h, history, hn)
        return h + m


GPT_DEFAULTS = {
    "layers": 4,
    "dim": 128,
    "heads": 4,
    "mlpRatio": 4,
    "context": 128,
    "vocab": 256,
    "positions": "learned",
    "tieEmbeddings": True,
    "bias": True,
    "placement": "block",
    "extraLayers": 0,
}


class Gpt(nn.Module):
    """laurel's GPT (src/models/gpt.ts). forward(tokens): int64 [B, T] -> logits [B, T, vocab]. Keyword
    arguments as GptConfig's fields (layers, dim, heads, mlpRatio, context, vocab, positions, tieEmbeddings, bias,
    placement, extraLayers) and residual (a variant name or a residual_config dict)."""

    def __init__(self, residual=None, **config):
        super().__init__()
        unknown = set(config) - set(GPT_DEFAULTS)
        if unknown:
            raise ValueError(f"Gpt: unknown option(s) {sorted(unknown)}; allowed: {', '.join(GPT_DEFAULTS)}")
        c = {**GPT_DEFAULTS, **{k: v for k, v in config.items() if v is not None}}
        residual = residual_config(**residual) if isinstance(residual, dict) else residual_config(residual or "baseline")
        self.config, self.residual_cfg = c, residual
        self.wte = nn.Embedding(c["vocab"], c["dim"])
        nn.init.normal_(self.wte.weight, 0.0, 0.02)
        if c["positions"] == "learned":
            self.wpe = nn.Embedding(c["context"], c["dim"])
            nn.init.normal_(self.wpe.weight, 0.0, 0.02)
        else:
            self.wpe = None
        self.layers = nn.ModuleList([GptLayer(c, residual) for _ in range(c["layers"] + c["extraLayers"])])
        self.lnF = LayerNorm(c["dim"], c["bias"])
        self.head = None if c["tieEmbeddings"] else _linear(c["dim"], c["vocab"], False, 0.02)

    def forward(self, tokens):
        t = tokens.shape[1]
        x = self.wte(tokens)
        if self.wpe is not None:
            x = x + self.wpe.weight[:t]
        v = self.residual_cfg["variant"]
        history = ActivationHistory(self.residual_cfg.get("k", 3)) if reads_history(v) else None
        for layer in self.layers:
            x = layer(x, history)
        x = self.lnF(x)
        return self.head(x) if self.head is not None else x @ self.wte.weight.t()


# --------------------------------------------------------------------------------------- specs and names


def from_spec(spec):
    """The model a laurel ModelSpec describes (a dict, or its JSON text), with fresh weights."""
    if isinstance(spec, str):
        spec = json.loads(spec)
    name = spec["model"]
    residual = spec.get("residual", "baseline")
    if name == "gpt":
        keys = ("layers", "dim", "heads", "mlpRatio", "context", "vocab", "positions", "tieEmbeddings", "bias", "placement")
        opts = {k: spec[k] for k in keys if k in spec}
        return Gpt(residual=residual, extraLayers=spec.get("extraBlocks", 0), **opts)
    return ResNet(
        name,
        num_classes=spec.get("numClasses"),
        in_channels=spec.get("inChannels"),
        residual=residual,
        extra_blocks=spec.get("extraBlocks", 0),
        extra_stage=spec.get("extraStage", 3),
    )


def from_safetensors(path, strict=True):
    """A model built from the file's `laurel.spec` metadata (written by `laurel export`), its weights loaded
    with load_state_dict(strict=strict), in eval mode."""
    meta = load_metadata(path)
    if meta.get("laurel.layout", "torch") != "torch":
        raise ValueError(f"{path} has laurel.layout '{meta.get('laurel.layout')}'; export it with --layout torch")
    if "laurel.spec" not in meta:
        raise ValueError(f"{path} has no laurel.spec metadata; build the model yourself and load_state_dict")
    model = from_spec(meta["laurel.spec"])
    model.load_state_dict(load_file(path), strict=strict)
    return model.eval()


def laurel_names(model):
    """torch parameter name -> (laurel name, kind, to_laurel(t), from_laurel(t)), in named_parameters order.
    kind is laurel's ParamKind: weight (conv/linear), bias, norm, embedding, laurel."""

    def same(t):
        return t

    out = {}
    for mname, m in model.named_modules():
        prefix = f"{mname}." if mname else ""
        for pname, _ in m.named_parameters(recurse=False):
            if isinstance(m, Residual):
                entry = (pname, "laurel", same, same)
            elif isinstance(m, nn.Conv2d) and pname == "weight":
                entry = ("kernel", "weight", lambda t: t.permute(2, 3, 1, 0), lambda t: t.permute(3, 2, 0, 1))
            elif isinstance(m, nn.Linear) and pname == "weight":
                entry = ("kernel", "weight", lambda t: t.t(), lambda t: t.t())
            elif isinstance(m, nn.Embedding):
                entry = ("table", "embedding", same, same)
            elif isinstance(m, (nn.BatchNorm2d, LayerNorm)):
                entry = ({"weight": "gamma", "bias": "beta"}[pname], "norm", same, same)
            elif pname == "bias":
                entry = ("bias", "bias", same, same)
            else:
                raise ValueError(f"laurel_names: no laurel name for {prefix}{pname} ({type(m).__name__})")
            out[prefix + pname] = (prefix + entry[0], *entry[1:])
    order = [n for n, _ in model.named_parameters()]
    return {n: out[n] for n in order}
