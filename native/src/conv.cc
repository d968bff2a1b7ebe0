// Convolution and pooling kernels (NHWC, float32): im2col / col2im + OpenBLAS sgemm, parallel packing.
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "common.h"

namespace laurel {
namespace {

struct ConvP {
  int64_t N, H, W, C, OH, OW, OC, KH, KW, SH, SW, DH, DW, PT, PL;
  explicit ConvP(const int32_t* p)
      : N(p[0]), H(p[1]), W(p[2]), C(p[3]), OH(p[4]), OW(p[5]), OC(p[6]), KH(p[7]), KW(p[8]), SH(p[9]), SW(p[10]),
        DH(p[11]), DW(p[12]), PT(p[13]), PL(p[14]) {}
  int64_t K() const { return KH * KW * C; }
  bool pointwise() const { return KH == 1 && KW == 1 && SH == 1 && SW == 1 && PT == 0 && PL == 0 && OH == H && OW == W; }
};

constexpr int64_t kColFloats = 4 << 20;  // 16 MiB of im2col scratch per chunk

std::vector<float>& scratch() {
  static std::vector<float> s;
  return s;
}

int64_t images_per_chunk(const ConvP& p) {
  int64_t per = p.OH * p.OW * p.K();
  return std::max<int64_t>(1, std::min<int64_t>(p.N, kColFloats / std::max<int64_t>(1, per)));
}

// col[(n*OH + oy)*OW + ox, (ky*KW + kx)*C + c] = x[n0 + n, iy, ix, c] (0 outside the image).
void im2col(const ConvP& p, const float* x, int64_t n0, int64_t nImg, float* col) {
  const int64_t K = p.K();
  const int64_t rows = nImg * p.OH * p.OW;
  parallel_for(rows, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, K)), [&](int64_t s, int64_t e) {
    for (int64_t r = s; r < e; r++) {
      int64_t n = r / (p.OH * p.OW), rem = r % (p.OH * p.OW);
      int64_t oy = rem / p.OW, ox = rem % p.OW;
      float* dst = col + r * K;
      const float* img = x + (n0 + n) * p.H * p.W * p.C;
      for (int64_t ky = 0; ky < p.KH; ky++) {
        int64_t iy = oy * p.SH - p.PT + ky * p.DH;
        for (int64_t kx = 0; kx < p.KW; kx++) {
          int64_t ix = ox * p.SW - p.PL + kx * p.DW;
          float* d = dst + (ky * p.KW + kx) * p.C;
          if (iy < 0 || iy >= p.H || ix < 0 || ix >= p.W)
            std::memset(d, 0, p.C * sizeof(float));
          else
            std::memcpy(d, img + (iy * p.W + ix) * p.C, p.C * sizeof(float));
        }
      }
    }
  });
}

// dx[n0 + n] += scatter of dcol (dx zeroed by the caller); parallel over images (disjoint outputs).
void col2im(const ConvP& p, const float* dcol, int64_t n0, int64_t nImg, float* dx) {
  const int64_t K = p.K();
  auto one = [&](int64_t n) {
    float* img = dx + (n0 + n) * p.H * p.W * p.C;
    for (int64_t oy = 0; oy < p.OH; oy++)
      for (int64_t ox = 0; ox < p.OW; ox++) {
        const float* src = dcol + ((n * p.OH + oy) * p.OW + ox) * K;
        for (int64_t ky = 0; ky < p.KH; ky++) {
          int64_t iy = oy * p.SH - p.PT + ky * p.DH;
          if (iy < 0 || iy >= p.H) continue;
          for (int64_t kx = 0; kx < p.KW; kx++) {
            int64_t ix = ox * p.SW - p.PL + kx * p.DW;
            if (ix < 0 || ix >= p.W) continue;
            float* d = img + (iy * p.W + ix) * p.C;
            const float* s = src + (ky * p.KW + kx) * p.C;
            for (int64_t c = 0; c < p.C; c++) d[c] += s[c];
          }
        }
      }
  };
  parallel_for(nImg, 1, [&](int64_t s, int64_t e) {
    for (int64_t n = s; n < e; n++) one(n);
  });
}

// conv2d(x, w, out, params): out[N, OH, OW, OC] = conv(x[N, H, W, C], w[KH, KW, C, OC]).
Napi::Value Conv2d(const Napi::CallbackInfo& info) {
  const float* x = f32(info, 0);
  const float* w = f32(info, 1);
  float* out = f32(info, 2);
  ConvP p(i32(info, 3));
  const int64_t K = p.K();
  if (p.pointwise()) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, p.N * p.H * p.W, p.OC, p.C, 1.0f, x, p.C, w, p.OC, 0.0f,
                out, p.OC);
    return info.Env().Undefined();
  }
  int64_t chunk = images_per_chunk(p);
  auto& col = scratch();
  col.resize(chunk * p.OH * p.OW * K);
  for (int64_t n0 = 0; n0 < p.N; n0 += chunk) {
    int64_t nImg = std::min(chunk, p.N - n0);
    im2col(p, x, n0, nImg, col.data());
    int64_t rows = nImg * p.OH * p.OW;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, p.OC, K, 1.0f, col.data(), K, w, p.OC, 0.0f,
                out + n0 * p.OH * p.OW * p.OC, p.OC);
  }
  return info.Env().Undefined();
}

// conv2dBackInput(dy, w, dx, params)
Napi::Value Conv2dBackInput(const Napi::CallbackInfo& info) {
  const float* dy = f32(info, 0);
  const float* w = f32(info, 1);
  float* dx = f32(info, 2);
  ConvP p(i32(info, 3));
  const int64_t K = p.K();
  if (p.pointwise()) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, p.N * p.H * p.W, p.C, p.OC, 1.0f, dy, p.OC, w, p.OC, 0.0f,
                dx, p.C);
    return info.Env().Undefined();
  }
  std::memset(dx, 0, p.N * p.H * p.W * p.C * sizeof(float));
  int64_t chunk = images_per_chunk(p);
  auto& col = scratch();
  col.resize(chunk * p.OH * p.OW * K);
  for (int64_t n0 = 0; n0 < p.N; n0 += chunk) {
    int64_t nImg = std::min(chunk, p.N - n0);
    int64_t rows = nImg * p.OH * p.OW;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, K, p.OC, 1.0f, dy + n0 * p.OH * p.OW * p.OC, p.OC, w,
                p.OC, 0.0f, col.data(), K);
    col2im(p, col.data(), n0, nImg, dx);
  }
  return info.Env().Undefined();
}

// conv2dBackFilter(x, dy, dw, params): dw[K, OC] = sum over chunks col^T dy.
Napi::Value Conv2dBackFilter(const Napi::CallbackInfo& info) {
  const float* x = f32(info, 0);
  const float* dy = f32(info, 1);
  float* dw = f32(info, 2);
  ConvP p(i32(info, 3));
  const int64_t K = p.K();
  if (p.pointwise()) {
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, p.C, p.OC, p.N * p.H * p.W, 1.0f, x, p.C, dy, p.OC, 0.0f,
                dw, p.OC);
    return info.Env().Undefined();
  }
  int64_t chunk = images_per_chunk(p);
  auto& col = scratch();
  col.resize(chunk * p.OH * p.OW * K);
  for (int64_t n0 = 0; n0 < p.N; n0 += chunk) {
    int64_t nImg = std::min(chunk, p.N - n0);
    im2col(p, x, n0, nImg, col.data());
    int64_t rows = nImg * p.OH * p.OW;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, p.OC, rows, 1.0f, col.data(), K,
                dy + n0 * p.OH * p.OW * p.OC, p.OC, n0 == 0 ? 0.0f : 1.0f, dw, p.OC);
  }
  return info.Env().Undefined();
}

// Pool params: N, H, W, C, OH, OW, KH, KW, SH, SW, DH, DW, PT, PL.
struct PoolP {
  int64_t N, H, W, C, OH, OW, KH, KW, SH, SW, DH, DW, PT, PL;
  explicit PoolP(const int32_t* p)
      : N(p[0]), H(p[1]), W(p[2]), C(p[3]), OH(p[4]), OW(p[5]), KH(p[6]), KW(p[7]), SH(p[8]), SW(p[9]), DH(p[10]),
        DW(p[11]), PT(p[12]), PL(p[13]) {}
};

// pool(op, x, out, params): op 0 = max, 1 = avg (over the valid positions, like tfjs).
Napi::Value Pool(const Napi::CallbackInfo& info) {
  int op = num(info, 0);
  const float* x = f32(info, 1);
  float* out = f32(info, 2);
  PoolP p(i32(info, 3));
  parallel_for(p.N * p.OH, 1, [&](int64_t s, int64_t e) {
    std::vector<float> acc(p.C);
    for (int64_t r = s; r < e; r++) {
      int64_t n = r / p.OH, oy = r % p.OH;
      const float* img = x + n * p.H * p.W * p.C;
      for (int64_t ox = 0; ox < p.OW; ox++) {
        std::fill(acc.begin(), acc.end(), op == 0 ? -INFINITY : 0.0f);
        int64_t count = 0;
        for (int64_t ky = 0; ky < p.KH; ky++) {
          int64_t iy = oy * p.SH - p.PT + ky * p.DH;
          if (iy < 0 || iy >= p.H) continue;
          for (int64_t kx = 0; kx < p.KW; kx++) {
            int64_t ix = ox * p.SW - p.PL + kx * p.DW;
            if (ix < 0 || ix >= p.W) continue;
            const float* src = img + (iy * p.W + ix) * p.C;
            count++;
            if (op == 0)
              for (int64_t c = 0; c < p.C; c++) acc[c] = (src[c] > acc[c] || src[c] != src[c]) ? src[c] : acc[c];
            else
              for (int64_t c = 0; c < p.C; c++) acc[c] += src[c];
          }
        }
        float* dst = out + ((n * p.OH + oy) * p.OW + ox) * p.C;
        if (op == 0)
          std::memcpy(dst, acc.data(), p.C * sizeof(float));
        else {
          float inv = 1.0f / static_cast<float>(std::max<int64_t>(count, 1));
          for (int64_t c = 0; c < p.C; c++) dst[c] = acc[c] * inv;
        }
      }
    }
  });
  return info.Env().Undefined();
}

// poolGrad(op, dy, x, dx, params): max routes dy to the first maximum of each window (as tfjs does);
// avg spreads dy / (valid count) over the window.
Napi::Value PoolGrad(const Napi::CallbackInfo& info) {
  int op = num(info, 0);
  const float* dy = f32(info, 1);
  const float* x = op == 0 ? f32(info, 2) : nullptr;
  float* dx = f32(info, 3);
  PoolP p(i32(info, 4));
  std::memset(dx, 0, p.N * p.H * p.W * p.C * sizeof(float));
  parallel_for(p.N, 1, [&](int64_t s, int64_t e) {
    std::vector<float> best(p.C);
    std::vector<int64_t> where(p.C);
    for (int64_t n = s; n < e; n++) {
      const float* img = op == 0 ? x + n * p.H * p.W * p.C : nullptr;
      float* dimg = dx + n * p.H * p.W * p.C;
      for (int64_t oy = 0; oy < p.OH; oy++)
        for (int64_t ox = 0; ox < p.OW; ox++) {
          const float* g = dy + ((n * p.OH + oy) * p.OW + ox) * p.C;
          if (op == 0) {
            std::fill(best.begin(), best.end(), -INFINITY);
            std::fill(where.begin(), where.end(), -1);
            for (int64_t ky = 0; ky < p.KH; ky++) {
              int64_t iy = oy * p.SH - p.PT + ky * p.DH;
              if (iy < 0 || iy >= p.H) continue;
              for (int64_t kx = 0; kx < p.KW; kx++) {
                int64_t ix = ox * p.SW - p.PL + kx * p.DW;
                if (ix < 0 || ix >= p.W) continue;
                int64_t base = (iy * p.W + ix) * p.C;
                for (int64_t c = 0; c < p.C; c++) {
                  float v = img[base + c];
                  if (v > best[c] || where[c] < 0) {
                    if (where[c] < 0 || v > best[c]) {
                      best[c] = v;
                      where[c] = base + c;
                    }
                  }
                }
              }
            }
            for (int64_t c = 0; c < p.C; c++)
              if (where[c] >= 0) dimg[where[c]] += g[c];
          } else {
            int64_t count = 0;
            for (int64_t ky = 0; ky < p.KH; ky++) {
              int64_t iy = oy * p.SH - p.PT + ky * p.DH;
              if (iy < 0 || iy >= p.H) continue;
              for (int64_t kx = 0; kx < p.KW; kx++) {
                int64_t ix = ox * p.SW - p.PL + kx * p.DW;
                if (ix >= 0 && ix < p.W) count++;
              }
            }
            float inv = 1.0f / static_cast<float>(std::max<int64_t>(count, 1));
            for (int64_t ky = 0; ky < p.KH; ky++) {
              int64_t iy = oy * p.SH - p.PT + ky * p.DH;
              if (iy < 0 || iy >= p.H) continue;
              for (int64_t kx = 0; kx < p.KW; kx++) {
                int64_t ix = ox * p.SW - p.PL + kx * p.DW;
                if (ix < 0 || ix >= p.W) continue;
                float* d = dimg + (iy * p.W + ix) * p.C;
                for (int64_t c = 0; c < p.C; c++) d[c] += g[c] * inv;
              }
            }
          }
        }
    }
  });
  return info.Env().Undefined();
}

}  // namespace

void register_conv(Napi::Env env, Napi::Object exports) {
  exports.Set("conv2d", Napi::Function::New(env, Conv2d));
  exports.Set("conv2dBackInput", Napi::Function::New(env, Conv2dBackInput));
  exports.Set("conv2dBackFilter", Napi::Function::New(env, Conv2dBackFilter));
  exports.Set("pool", Napi::Function::New(env, Pool));
  exports.Set("poolGrad", Napi::Function::New(env, PoolGrad));
}

}  // namespace laurel
