// Convolution and pooling kernels (NHWC, float32): im2col / col2im + OpenBLAS sgemm, parallel packing.
#include <cblas.h>

#include <algorithm>
#include <array>
#include <utility>
#include <climits>
#include <cmath>
#include <cstdlib>
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
  int64_t in_size() const { return prod({N, H, W, C}); }
  int64_t out_size() const { return prod({N, OH, OW, OC}); }
  int64_t w_size() const { return prod({KH, KW, C, OC}); }
  bool pointwise() const { return KH == 1 && KW == 1 && SH == 1 && SW == 1 && PT == 0 && PL == 0 && OH == H && OW == W; }
};

// Sizes ≥ 0, strides and dilations ≥ 1, pads in [0, 2³⁰] in the first `count` entries of the Int32Array
// argument i (N, H, W, C, … as ConvP and PoolP list them; `strides` is the index of the first stride).
const int32_t* window_params(const Napi::CallbackInfo& info, size_t i, int count, int strides) {
  const Arr<int32_t> q = i32(info, i);
  if (q.n < count) arg_fail("params must have " + std::to_string(count) + " entries");
  for (int j = 0; j < count; j++) {
    const int64_t lo = j >= strides && j < strides + 4 ? 1 : 0, hi = j >= strides + 4 ? (1 << 30) : kMaxDim;
    if (q[j] < lo || q[j] > hi) arg_fail("params[" + std::to_string(j) + "] = " + std::to_string(q[j]) + " is out of range");
  }
  return q;
}

// Conv params, checked (the OpenBLAS calls take K and the row count as int).
ConvP conv_params(const Napi::CallbackInfo& info, size_t i) {
  const ConvP p(window_params(info, i, 15, 9));
  if (prod({p.KH, p.KW, p.C}) > kMaxDim || prod({p.N, p.OH, p.OW}) > kMaxDim) arg_fail("sizes too large");
  return p;
}

// Row r of the im2col matrix is the output pixel (n, oy, ox) = (r / (OH*OW), ...); its K = KH*KW*C entries are
// the input patch in (ky, kx, c) order (0 outside the image), so that out[r, :] = col[r, :] · W[K, OC].
//
// Every kernel below splits the rows (or the images) over our threads; each thread packs a cache-sized tile
// of rows into its own scratch and calls a single-threaded sgemm on it, so the packed tile is read back from
// L2 instead of memory, and OpenBLAS's threads never compete with ours (no oversubscription).

constexpr int64_t kTileFloats = 96 << 10;  // 384 KiB of packed rows per tile (L2 is 2 MiB per core here)

int64_t tile_rows(const ConvP& p) {
  return std::max<int64_t>(8, std::min<int64_t>(4096, kTileFloats / std::max<int64_t>(1, p.K())));
}

// Per-thread scratch (our pool's workers and the JS thread each get their own).
float* scratch(size_t n) {
  thread_local std::vector<float> s;
  if (s.size() < n) s.resize(n);
  return s.data();
}

// Threads to use for `rows` rows of K-long patches: one thread below ~2 MFLOP of work per extra thread.
int threads_for(const ConvP& p, int64_t rows) {
  int nt = pool_threads();
  double flops = 2.0 * rows * p.K() * p.OC;
  while (nt > 1 && flops / nt < 2e6) nt--;
  return nt;
}

// col[(r - r0), :] = patch of output pixel r, for r in [r0, r1).
void im2col_rows(const ConvP& p, const float* x, int64_t r0, int64_t r1, float* col) {
  const int64_t K = p.K(), C = p.C, OHW = p.OH * p.OW;
  for (int64_t r = r0; r < r1; r++) {
    int64_t n = r / OHW, rem = r % OHW;
    int64_t oy = rem / p.OW, ox = rem % p.OW;
    float* dst = col + (r - r0) * K;
    const float* img = x + n * p.H * p.W * C;
    for (int64_t ky = 0; ky < p.KH; ky++) {
      int64_t iy = oy * p.SH - p.PT + ky * p.DH;
      float* d = dst + ky * p.KW * C;
      if (iy < 0 || iy >= p.H) {
        std::memset(d, 0, p.KW * C * sizeof(float));
        continue;
      }
      const float* row = img + iy * p.W * C;
      int64_t ix0 = ox * p.SW - p.PL;
      if (C == 1) {
        for (int64_t kx = 0; kx < p.KW; kx++) {
          int64_t ix = ix0 + kx * p.DW;
          d[kx] = (ix >= 0 && ix < p.W) ? row[ix] : 0.0f;
        }
      } else if (p.DW == 1 && ix0 >= 0 && ix0 + p.KW <= p.W) {
        std::memcpy(d, row + ix0 * C, p.KW * C * sizeof(float));  // the whole kernel row is one run
      } else {
        for (int64_t kx = 0; kx < p.KW; kx++) {
          int64_t ix = ix0 + kx * p.DW;
          if (ix < 0 || ix >= p.W)
            std::memset(d + kx * C, 0, C * sizeof(float));
          else
            std::memcpy(d + kx * C, row + ix * C, C * sizeof(float));
        }
      }
    }
  }
}

// dx += scatter of dcol rows [r0, r1) (the caller owns every image these rows touch).
void col2im_rows(const ConvP& p, const float* dcol, int64_t r0, int64_t r1, float* dx) {
  const int64_t K = p.K(), C = p.C, OHW = p.OH * p.OW;
  for (int64_t r = r0; r < r1; r++) {
    int64_t n = r / OHW, rem = r % OHW;
    int64_t oy = rem / p.OW, ox = rem % p.OW;
    const float* src = dcol + (r - r0) * K;
    float* img = dx + n * p.H * p.W * C;
    for (int64_t ky = 0; ky < p.KH; ky++) {
      int64_t iy = oy * p.SH - p.PT + ky * p.DH;
      if (iy < 0 || iy >= p.H) continue;
      float* row = img + iy * p.W * C;
      const float* s = src + ky * p.KW * C;
      int64_t ix0 = ox * p.SW - p.PL;
      if (C == 1) {
        for (int64_t kx = 0; kx < p.KW; kx++) {
          int64_t ix = ix0 + kx * p.DW;
          if (ix >= 0 && ix < p.W) row[ix] += s[kx];
        }
      } else if (p.DW == 1 && ix0 >= 0 && ix0 + p.KW <= p.W) {
        float* d = row + ix0 * C;
        for (int64_t j = 0; j < p.KW * C; j++) d[j] += s[j];
      } else {
        for (int64_t kx = 0; kx < p.KW; kx++) {
          int64_t ix = ix0 + kx * p.DW;
          if (ix < 0 || ix >= p.W) continue;
          float* d = row + ix * C;
          const float* sk = s + kx * C;
          for (int64_t c = 0; c < C; c++) d[c] += sk[c];
        }
      }
    }
  }
}

// ---- Direct convolution (AVX2 + FMA, chosen at run time): no im2col matrix at all. ----------------------------
// A micro-kernel keeps NP (≤ 6) output pixels × 16 output channels in 12 ymm accumulators and walks the taps
// (ky, kx) and input channels c: per c it loads 16 weights and broadcasts one input value per pixel, straight
// from x (taps outside the image read a zero row). The weights are repacked per call into 16-channel blocks
// Wp[block][tap][c][16] (zero-padded past OC; stores are masked), so any OC works.
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define LAUREL_DIRECT 1
#define LAUREL_AVX2 __attribute__((target("avx2,fma")))

// LAUREL_CONV_DIRECT=0 forces the im2col + sgemm path (benchmarks and tests compare the two).
bool direct_disabled() {
  const char* e = std::getenv("LAUREL_CONV_DIRECT");
  return e != nullptr && e[0] == '0';
}

bool have_avx2() {
  static const bool v = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return v;
}

constexpr int kNP = 12;  // tap-table stride: pixels per micro-tile, at most (AVX-512: 12, AVX2: 6)

// out[i, 0:wb] = Σ_t Σ_c taps[t * kNP + i][c] * wp[(t * C + c) * 16 + 0:16], for i < NP.
// The accumulators are named variables (not arrays): GCC otherwise spills an array of __m256 to the stack on
// every FMA, which halves the throughput.
#define LAUREL_REP6(M) M(0) M(1) M(2) M(3) M(4) M(5)

template <int NP>
LAUREL_AVX2 void fwd_micro(const float* const* taps, int64_t ntaps, const int32_t* widx, int64_t C, const float* wp,
                           float* const* outs, int64_t wb) {
#define LAUREL_DECL(k)                                           \
  __m256 a0_##k = _mm256_setzero_ps(), a1_##k = _mm256_setzero_ps(); \
  const float* p##k = nullptr;
  LAUREL_REP6(LAUREL_DECL)
#undef LAUREL_DECL
  for (int64_t t = 0; t < ntaps; t++) {
    const float* const* tp = taps + t * kNP;
#define LAUREL_PTR(k) \
  if constexpr (NP > k) p##k = tp[k];
    LAUREL_REP6(LAUREL_PTR)
#undef LAUREL_PTR
    const float* w = wp + (widx ? widx[t] : t) * C * 16;
#pragma GCC unroll 4
    for (int64_t c = 0; c < C; c++) {
      const __m256 w0 = _mm256_loadu_ps(w + c * 16), w1 = _mm256_loadu_ps(w + c * 16 + 8);
#define LAUREL_FMA(k)                                \
  if constexpr (NP > k) {                            \
    const __m256 b = _mm256_broadcast_ss(p##k + c);  \
    a0_##k = _mm256_fmadd_ps(b, w0, a0_##k);         \
    a1_##k = _mm256_fmadd_ps(b, w1, a1_##k);         \
  }
      LAUREL_REP6(LAUREL_FMA)
#undef LAUREL_FMA
    }
  }
  if (wb == 16) {
#define LAUREL_ST(k)                          \
  if constexpr (NP > k) {                     \
    _mm256_storeu_ps(outs[k], a0_##k);        \
    _mm256_storeu_ps(outs[k] + 8, a1_##k);    \
  }
    LAUREL_REP6(LAUREL_ST)
#undef LAUREL_ST
  } else {
    alignas(32) int32_t m[16];
    for (int j = 0; j < 16; j++) m[j] = j < wb ? -1 : 0;
    const __m256i m0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(m));
    const __m256i m1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(m + 8));
#define LAUREL_ST(k)                                 \
  if constexpr (NP > k) {                            \
    _mm256_maskstore_ps(outs[k], m0, a0_##k);        \
    _mm256_maskstore_ps(outs[k] + 8, m1, a1_##k);    \
  }
    LAUREL_REP6(LAUREL_ST)
#undef LAUREL_ST
  }
}

// AVX-512 (where the CPU has it; this machine does, and oneDNN uses it for PyTorch): one zmm of 16 output
// channels per pixel, up to 12 pixels, FMAs with an embedded broadcast of the input value.
#define LAUREL_AVX512 __attribute__((target("avx512f")))
#define LAUREL_REP12(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8) M(9) M(10) M(11)

// LAUREL_CONV_AVX512=0 keeps the AVX2 micro-kernels on an AVX-512 CPU (tests cover both).
bool have_avx512() {
  static const bool cpu = __builtin_cpu_supports("avx512f");
  const char* e = std::getenv("LAUREL_CONV_AVX512");
  return cpu && (e == nullptr || e[0] != '0');
}
int group_pixels() { return have_avx512() ? 12 : 6; }

// CC > 0 fixes C at compile time (16, the narrowest stage): the channel loop unrolls fully, with no loop branch
// per tap (NP = 12 only, the full tiles that carry nearly all the work). Measured 3–4 % faster for C = 16 and
// 4–6 % slower for C = 32 and 64 (the longer unrolled loop), so only 16 is specialised.
template <int NP, int CC = 0>
LAUREL_AVX512 void fwd_micro512(const float* const* taps, int64_t ntaps, const int32_t* widx, int64_t C,
                                const float* wp, float* const* outs, int64_t wb) {
#define LAUREL_DECL(k)                   \
  __m512 a_##k = _mm512_setzero_ps(); \
  const float* p##k = nullptr;
  LAUREL_REP12(LAUREL_DECL)
#undef LAUREL_DECL
  for (int64_t t = 0; t < ntaps; t++) {
    const float* const* tp = taps + t * kNP;
#define LAUREL_PTR(k) \
  if constexpr (NP > k) p##k = tp[k];
    LAUREL_REP12(LAUREL_PTR)
#undef LAUREL_PTR
    const float* w = wp + (widx ? widx[t] : t) * C * 16;
#define LAUREL_FMA(k) \
  if constexpr (NP > k) a_##k = _mm512_fmadd_ps(_mm512_set1_ps(p##k[c]), w0, a_##k);
    if constexpr (CC > 0) {
#pragma GCC unroll 16
      for (int64_t c = 0; c < CC; c++) {
        const __m512 w0 = _mm512_loadu_ps(w + c * 16);
        LAUREL_REP12(LAUREL_FMA)
      }
    } else {
#pragma GCC unroll 2
      for (int64_t c = 0; c < C; c++) {
        const __m512 w0 = _mm512_loadu_ps(w + c * 16);
        LAUREL_REP12(LAUREL_FMA)
      }
    }
#undef LAUREL_FMA
  }
  const __mmask16 m = static_cast<__mmask16>((1u << wb) - 1u);
#define LAUREL_ST(k) \
  if constexpr (NP > k) _mm512_mask_storeu_ps(outs[k], m, a_##k);
  LAUREL_REP12(LAUREL_ST)
#undef LAUREL_ST
}

void run_micro(int np, const float* const* tp, int64_t ntaps, const int32_t* widx, int64_t C, const float* w,
               float* const* outs, int64_t wb) {
  if (have_avx512()) {
    if (np == 12 && C == 16) return fwd_micro512<12, 16>(tp, ntaps, widx, C, w, outs, wb);
    switch (np) {
      case 12: fwd_micro512<12>(tp, ntaps, widx, C, w, outs, wb); break;
      case 11: fwd_micro512<11>(tp, ntaps, widx, C, w, outs, wb); break;
      case 10: fwd_micro512<10>(tp, ntaps, widx, C, w, outs, wb); break;
      case 9: fwd_micro512<9>(tp, ntaps, widx, C, w, outs, wb); break;
      case 8: fwd_micro512<8>(tp, ntaps, widx, C, w, outs, wb); break;
      case 7: fwd_micro512<7>(tp, ntaps, widx, C, w, outs, wb); break;
      case 6: fwd_micro512<6>(tp, ntaps, widx, C, w, outs, wb); break;
      case 5: fwd_micro512<5>(tp, ntaps, widx, C, w, outs, wb); break;
      case 4: fwd_micro512<4>(tp, ntaps, widx, C, w, outs, wb); break;
      case 3: fwd_micro512<3>(tp, ntaps, widx, C, w, outs, wb); break;
      case 2: fwd_micro512<2>(tp, ntaps, widx, C, w, outs, wb); break;
      default: fwd_micro512<1>(tp, ntaps, widx, C, w, outs, wb); break;
    }
    return;
  }
  switch (np) {
    case 6: fwd_micro<6>(tp, ntaps, widx, C, w, outs, wb); break;
    case 5: fwd_micro<5>(tp, ntaps, widx, C, w, outs, wb); break;
    case 4: fwd_micro<4>(tp, ntaps, widx, C, w, outs, wb); break;
    case 3: fwd_micro<3>(tp, ntaps, widx, C, w, outs, wb); break;
    case 2: fwd_micro<2>(tp, ntaps, widx, C, w, outs, wb); break;
    default: fwd_micro<1>(tp, ntaps, widx, C, w, outs, wb); break;
  }
}

// Row kernel (AVX-512; stride 1 and no dilation along x, KW = 3): P consecutive output pixels of one output row
// × B 16-channel blocks. Input-stationary: each input value is broadcast once and feeds the (up to) 3 outputs
// whose window covers it, so there is one load per ~3·B FMAs. (The pixel-pointer micro-kernel above loads a
// broadcast for every FMA when OC = 16, which caps it near 60 % of the FMA peak; this one measured 1.5–1.75×
// faster single-threaded on ResNet-20's three stages.) rows[ky] points at input column ox0 − PL of the row that
// tap row ky reads (null outside the image); LPAD / RPAD say that the first / last of those P + 2 columns lies
// in the padding. The weights are pack_fwd's blocks: block b at wp + b·bstride, [ky][kx][c][16].
template <int P, int B, bool LPAD, bool RPAD>
LAUREL_AVX512 void row_micro(const float* const* rows, int64_t KH, int64_t C, const float* wp, int64_t bstride,
                             float* out, int64_t ldo, __mmask16 mlast) {
  __m512 acc[P][B];
#pragma GCC unroll 16
  for (int o = 0; o < P; o++)
#pragma GCC unroll 4
    for (int b = 0; b < B; b++) acc[o][b] = _mm512_setzero_ps();
  for (int64_t ky = 0; ky < KH; ky++) {
    const float* r = rows[ky];
    if (r == nullptr) continue;
    const float* w = wp + ky * 3 * C * 16;
#pragma GCC unroll 2
    for (int64_t c = 0; c < C; c++) {
      __m512 wk[3][B];
#pragma GCC unroll 3
      for (int kx = 0; kx < 3; kx++)
#pragma GCC unroll 4
        for (int b = 0; b < B; b++) wk[kx][b] = _mm512_loadu_ps(w + b * bstride + (kx * C + c) * 16);
#pragma GCC unroll 16
      for (int j = 0; j < P + 2; j++) {
        if ((LPAD && j == 0) || (RPAD && j == P + 1)) continue;
        const __m512 v = _mm512_set1_ps(r[j * C + c]);
#pragma GCC unroll 3
        for (int kx = 0; kx < 3; kx++) {
          const int o = j - kx;  // output pixel that reads column j through tap kx
          if (o < 0 || o >= P) continue;
#pragma GCC unroll 4
          for (int b = 0; b < B; b++) acc[o][b] = _mm512_fmadd_ps(v, wk[kx][b], acc[o][b]);
        }
      }
    }
  }
#pragma GCC unroll 16
  for (int o = 0; o < P; o++)
#pragma GCC unroll 4
    for (int b = 0; b < B; b++)
      _mm512_mask_storeu_ps(out + o * ldo + b * 16, b == B - 1 ? mlast : __mmask16(0xFFFF), acc[o][b]);
}

using RowFn = void (*)(const float* const*, int64_t, int64_t, const float*, int64_t, float*, int64_t, __mmask16);
constexpr int kRowP1 = 14, kRowP2 = 8;  // widest tiles: P·B accumulators + 3·B weights + 1 broadcast ≤ 32 zmm

// row_fn(P, B, lpad, rpad) from a table of every instantiation.
template <int B, int... I>
constexpr std::array<RowFn, 4 * sizeof...(I)> row_table(std::integer_sequence<int, I...>) {
  return {{(row_micro<I + 1, B, false, false>)..., (row_micro<I + 1, B, false, true>)...,
           (row_micro<I + 1, B, true, false>)..., (row_micro<I + 1, B, true, true>)...}};
}
RowFn row_fn(int P, int B, bool lpad, bool rpad) {
  static constexpr auto t1 = row_table<1>(std::make_integer_sequence<int, kRowP1>());
  static constexpr auto t2 = row_table<2>(std::make_integer_sequence<int, kRowP2>());
  const int np = B == 1 ? kRowP1 : kRowP2, pads = (lpad ? 2 : 0) + (rpad ? 1 : 0);
  return (B == 1 ? t1.data() : t2.data())[pads * np + P - 1];
}

// LAUREL_CONV_ROW=0 keeps the pixel-pointer micro-kernels where the row kernel applies (tests cover both).
bool row_disabled() {
  const char* e = std::getenv("LAUREL_CONV_ROW");
  return e != nullptr && e[0] == '0';
}

// The row kernel applies to 3-wide windows at stride 1 along x (any KH, SH, DH) whose rows overhang the image by
// at most one column on each side.
bool row_applies(const ConvP& q) {
  return have_avx512() && !row_disabled() && q.KW == 3 && q.SW == 1 && q.DW == 1 && q.PL >= 0 && q.PL <= 1 &&
         q.OW + 1 - q.PL <= q.W;
}

// Direct conv by the row kernel (row_applies(q)); wp from pack_fwd (or pack_back_input for the flipped form).
void row_conv(const ConvP& q, const float* in, const float* wp, float* out) {
  const int64_t nblk = (q.OC + 15) / 16, bstride = q.KH * 3 * q.C * 16, rows = q.N * q.OH;
  const int B = nblk >= 2 ? 2 : 1;
  const int64_t ntile = (q.OW + (B == 1 ? kRowP1 : kRowP2) - 1) / (B == 1 ? kRowP1 : kRowP2);
  const int64_t P = (q.OW + ntile - 1) / ntile;
  const __mmask16 mlast = static_cast<__mmask16>((1u << (q.OC - (nblk - 1) * 16)) - 1u);
  const int nt = threads_for(q, q.N * q.OH * q.OW);
  auto body = [&](int tid) {
    std::vector<const float*> rp(q.KH);
    for (int64_t r = rows * tid / nt; r < rows * (tid + 1) / nt; r++) {
      const int64_t n = r / q.OH, oy = r % q.OH;
      for (int64_t ox0 = 0; ox0 < q.OW; ox0 += P) {
        const int64_t p = std::min(P, q.OW - ox0), ix0 = ox0 - q.PL;
        for (int64_t ky = 0; ky < q.KH; ky++) {
          const int64_t iy = oy * q.SH - q.PT + ky * q.DH;
          rp[ky] = iy >= 0 && iy < q.H ? in + ((n * q.H + iy) * q.W + ix0) * q.C : nullptr;
        }
        const bool lpad = ix0 < 0, rpad = ix0 + p + 1 >= q.W;
        float* o = out + ((n * q.OH + oy) * q.OW + ox0) * q.OC;
        for (int64_t b = 0; b < nblk; b += B) {
          const int bb = b + B <= nblk ? B : 1;
          row_fn(static_cast<int>(p), bb, lpad, rpad)(rp.data(), q.KH, q.C, wp + b * bstride, bstride, o + b * 16,
                                                       q.OC, b + bb == nblk ? mlast : __mmask16(0xFFFF));
        }
      }
    }
  };
  on_threads(nt, body);
}

// Tap pointers of `count` consecutive output pixels starting at row r: tp[t * ts + i] = the C input values that
// tap t of pixel r + i reads (the zero row outside the image). Pixel coordinates advance incrementally and
// interior pixels take precomputed tap offsets, so this stays cheap next to the 16-channel micro-kernels.
struct TapFill {
  const ConvP& q;
  const float* in;
  const float* zero;
  std::vector<int64_t> off;  // (ky·DH·W + kx·DW)·C per tap
  explicit TapFill(const ConvP& q_, const float* in_, const float* zero_) : q(q_), in(in_), zero(zero_) {
    for (int64_t ky = 0; ky < q.KH; ky++)
      for (int64_t kx = 0; kx < q.KW; kx++) off.push_back((ky * q.DH * q.W + kx * q.DW) * q.C);
  }
  void operator()(int64_t r, int64_t count, const float** tp, int64_t ts) const {
    const int64_t OHW = q.OH * q.OW, ntaps = q.KH * q.KW;
    int64_t n = r / OHW, rem = r % OHW, oy = rem / q.OW, ox = rem % q.OW;
    for (int64_t i = 0; i < count; i++) {
      const float* img = in + n * q.H * q.W * q.C;
      const int64_t iy0 = oy * q.SH - q.PT, ix0 = ox * q.SW - q.PL;
      if (iy0 >= 0 && iy0 + (q.KH - 1) * q.DH < q.H && ix0 >= 0 && ix0 + (q.KW - 1) * q.DW < q.W) {
        const float* base = img + (iy0 * q.W + ix0) * q.C;
        for (int64_t t = 0; t < ntaps; t++) tp[t * ts + i] = base + off[t];
      } else {
        for (int64_t ky = 0; ky < q.KH; ky++) {
          const int64_t iy = iy0 + ky * q.DH;
          const bool oky = iy >= 0 && iy < q.H;
          for (int64_t kx = 0; kx < q.KW; kx++) {
            const int64_t ix = ix0 + kx * q.DW;
            tp[(ky * q.KW + kx) * ts + i] = oky && ix >= 0 && ix < q.W ? img + (iy * q.W + ix) * q.C : zero;
          }
        }
      }
      if (++ox == q.OW) {
        ox = 0;
        if (++oy == q.OH) {
          oy = 0;
          n++;
        }
      }
    }
  }
};

// Direct conv described by q (input [N, H, W, C] → output [N, OH, OW, OC]) with weights already packed.
void direct_conv(const ConvP& q, const float* in, const float* wp, float* out) {
  const int64_t ntaps = q.KH * q.KW, OHW = q.OH * q.OW, rows = q.N * OHW, nblk = (q.OC + 15) / 16;
  std::vector<float> zero(q.C, 0.0f);
  const int nt = threads_for(q, rows);
  const TapFill fill(q, in, zero.data());
  auto body = [&](int tid) {
    int64_t r0 = rows * tid / nt, r1 = rows * (tid + 1) / nt;
    const float* taps[64 * kNP];
    std::vector<const float*> big;
    const float** tp = taps;
    if (ntaps > 64) {
      big.resize(ntaps * kNP);
      tp = big.data();
    }
    float* outs[kNP];
    const int gp = group_pixels();
    for (int64_t r = r0; r < r1; r += gp) {
      int np = static_cast<int>(std::min<int64_t>(gp, r1 - r));
      fill(r, np, tp, kNP);
      for (int64_t b = 0; b < nblk; b++) {
        int64_t wb = std::min<int64_t>(16, q.OC - b * 16);
        for (int i = 0; i < np; i++) outs[i] = out + (r + i) * q.OC + b * 16;
        const float* w = wp + b * ntaps * q.C * 16;
        run_micro(np, tp, ntaps, nullptr, q.C, w, outs, wb);
      }
    }
  };
  on_threads(nt, body);
}

// dw[k0 + i, ob:ob+wb] += Σ_{r < T} x(r, k0 + i) · dy[r, ob:ob+wb], i < KB, where x(r, k) = rows[tap(k)][r][c(k)]
// (rows: per tap, T pointers into x or the zero row). 12 accumulators: KB (≤ 6) patch entries × 16 channels.
// SAME: the KB entries are consecutive channels of one tap, so one row pointer serves all of them.
template <int KB, bool FULL, bool SAME>
LAUREL_AVX2 void dw_micro(const float* const* tp, int64_t T, int64_t C, int64_t k0, const float* dy, int64_t OC,
                          int64_t ob, int64_t wb, float* dw) {
  alignas(32) int32_t m[16];
  for (int j = 0; j < 16; j++) m[j] = j < wb ? -1 : 0;
  const __m256i m0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(m));
  const __m256i m1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(m + 8));
#define LAUREL_DECL(k)                                               \
  __m256 a0_##k = _mm256_setzero_ps(), a1_##k = _mm256_setzero_ps(); \
  const float* const* rows##k = tp + ((k0 + k) / C) * T;             \
  const int64_t c##k = (k0 + k) % C;
  LAUREL_REP6(LAUREL_DECL)
#undef LAUREL_DECL
#pragma GCC unroll 2
  for (int64_t r = 0; r < T; r++) {
    const float* d = dy + r * OC + ob;
    const __m256 d0 = FULL ? _mm256_loadu_ps(d) : _mm256_maskload_ps(d, m0);
    const __m256 d1 = FULL ? _mm256_loadu_ps(d + 8) : _mm256_maskload_ps(d + 8, m1);
    const float* xr = SAME ? rows0[r] + c0 : nullptr;
#define LAUREL_FMA(k)                                                          \
  if constexpr (KB > k) {                                                      \
    const __m256 b = _mm256_broadcast_ss(SAME ? xr + k : rows##k[r] + c##k);   \
    a0_##k = _mm256_fmadd_ps(b, d0, a0_##k);                   \
    a1_##k = _mm256_fmadd_ps(b, d1, a1_##k);                   \
  }
    LAUREL_REP6(LAUREL_FMA)
#undef LAUREL_FMA
  }
#define LAUREL_ST(k)                                                                         \
  if constexpr (KB > k) {                                                                    \
    float* o = dw + (k0 + k) * OC + ob;                                                      \
    if (FULL) {                                                                              \
      _mm256_storeu_ps(o, _mm256_add_ps(_mm256_loadu_ps(o), a0_##k));                        \
      _mm256_storeu_ps(o + 8, _mm256_add_ps(_mm256_loadu_ps(o + 8), a1_##k));                \
    } else {                                                                                 \
      _mm256_maskstore_ps(o, m0, _mm256_add_ps(_mm256_maskload_ps(o, m0), a0_##k));          \
      _mm256_maskstore_ps(o + 8, m1, _mm256_add_ps(_mm256_maskload_ps(o + 8, m1), a1_##k));  \
    }                                                                                        \
  }
  LAUREL_REP6(LAUREL_ST)
#undef LAUREL_ST
}

// AVX-512 backprop-filter micro-kernel: KB (≤ 16) consecutive channels of one tap × 16 output channels (one zmm
// each), masked past OC.
#define LAUREL_REP16(M) LAUREL_REP12(M) M(12) M(13) M(14) M(15)
template <int KB>
LAUREL_AVX512 void dw_micro512(const float* const* rows, int64_t T, int64_t c0, const float* dy, int64_t OC,
                               __mmask16 m, float* dw) {
#define LAUREL_DECL(k) __m512 a_##k = _mm512_setzero_ps();
  LAUREL_REP16(LAUREL_DECL)
#undef LAUREL_DECL
#pragma GCC unroll 2
  for (int64_t r = 0; r < T; r++) {
    const __m512 d = _mm512_maskz_loadu_ps(m, dy + r * OC);
    const float* xr = rows[r] + c0;
#define LAUREL_FMA(k) \
  if constexpr (KB > k) a_##k = _mm512_fmadd_ps(_mm512_set1_ps(xr[k]), d, a_##k);
    LAUREL_REP16(LAUREL_FMA)
#undef LAUREL_FMA
  }
#define LAUREL_ST(k)                                                                \
  if constexpr (KB > k) {                                                           \
    float* o = dw + (c0 + k) * OC;                                                  \
    _mm512_mask_storeu_ps(o, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, o), a_##k)); \
  }
  LAUREL_REP16(LAUREL_ST)
#undef LAUREL_ST
}

// dw rows [t·C + c0, t·C + c0 + kb) × channels [ob, ob + wb) from one tile; dw points at the tap's first row.
void dw_block512(int kb, const float* const* rows, int64_t T, int64_t c0, const float* dy, int64_t OC, int64_t wb,
                 float* dw) {
  const __mmask16 m = static_cast<__mmask16>((1u << wb) - 1u);
  switch (kb) {
#define LAUREL_CASE(k) \
  case k + 1: dw_micro512<k + 1>(rows, T, c0, dy, OC, m, dw); break;
    LAUREL_REP16(LAUREL_CASE)
#undef LAUREL_CASE
    default: break;
  }
}

template <bool FULL, bool SAME>
void dw_block(int kb, const float* const* tp, int64_t T, int64_t C, int64_t k0, const float* dy, int64_t OC,
              int64_t ob, int64_t wb, float* dw) {
  switch (kb) {
    case 6: dw_micro<6, FULL, SAME>(tp, T, C, k0, dy, OC, ob, wb, dw); break;
    case 5: dw_micro<5, FULL, SAME>(tp, T, C, k0, dy, OC, ob, wb, dw); break;
    case 4: dw_micro<4, FULL, SAME>(tp, T, C, k0, dy, OC, ob, wb, dw); break;
    case 3: dw_micro<3, FULL, SAME>(tp, T, C, k0, dy, OC, ob, wb, dw); break;
    case 2: dw_micro<2, FULL, SAME>(tp, T, C, k0, dy, OC, ob, wb, dw); break;
    default: dw_micro<1, FULL, SAME>(tp, T, C, k0, dy, OC, ob, wb, dw); break;
  }
}

// dw[KO] = Σ_tid body(tid, acc): thread 0 sums into dw itself, the others into partials added at the end, so
// no two threads write one dw entry. acc arrives zeroed.
void sum_over_threads(int nt, int64_t KO, float* dw, const std::function<void(int, float*)>& body) {
  std::vector<float> partial(static_cast<size_t>(nt - 1) * KO);
  on_threads(nt, [&](int tid) {
    float* acc = tid == 0 ? dw : partial.data() + (tid - 1) * KO;
    std::memset(acc, 0, KO * sizeof(float));
    body(tid, acc);
  });
  for (int t = 1; t < nt; t++) {
    const float* s = partial.data() + (t - 1) * KO;
    for (int64_t i = 0; i < KO; i++) dw[i] += s[i];
  }
}

// Row backprop-filter (AVX-512, where row_applies): dw[ky, kx, c, o] = Σ_{n, oy, ix} x[n, iy, ix, c] · dy[n, oy,
// ix + PL − kx, o] with iy = oy·SH − PT + ky·DH. Input-stationary like row_micro: each x value is broadcast once
// for all 3 kx, with the three dy vectors it meets loaded once per column for all KB channels, so there are
// (KB + 3) loads per 3·KB FMAs (the tap-pointer kernel above loads a broadcast per FMA). The 3·KB accumulators
// stay in registers across all the row pairs given (xr: x rows at channel c0; dr: dy rows at channel block ob).
template <int KB, bool FULL>
LAUREL_AVX512 void dw_row_micro(const float* const* xr, const float* const* dr, int64_t nrows, int64_t ix0,
                                int64_t ix1, int64_t PL, int64_t OW, int64_t C, int64_t OC, const __mmask16* km,
                                __mmask16 m, float* dw) {
  __m512 acc[3][KB];
#pragma GCC unroll 3
  for (int kx = 0; kx < 3; kx++)
#pragma GCC unroll 16
    for (int k = 0; k < KB; k++) acc[kx][k] = _mm512_setzero_ps();
  // Column ix meets dy[ix + PL − kx] through tap kx. In [in0, in1) all three exist; at the row ends km zeroes
  // the missing ones (masked-off lanes are never read, so the address may point past the row). The interior
  // uses the one block mask m, kept in a register: reloading a mask per load halved the speed.
  const int64_t in0 = std::min(ix1, std::max(ix0, 2 - PL)), in1 = std::max(in0, std::min(ix1, OW - PL));
#define LAUREL_COLUMN(MASK)                                                                   \
  {                                                                                           \
    const float* dc = d + (ix + PL) * OC;                                                     \
    const __m512 y0 = MASK(0, dc), y1 = MASK(1, dc - OC), y2 = MASK(2, dc - 2 * OC);         \
    const float* xc = x + ix * C;                                                             \
    _Pragma("GCC unroll 16") for (int k = 0; k < KB; k++) {                                   \
      const __m512 v = _mm512_set1_ps(xc[k]);                                                 \
      acc[0][k] = _mm512_fmadd_ps(v, y0, acc[0][k]);                                          \
      acc[1][k] = _mm512_fmadd_ps(v, y1, acc[1][k]);                                          \
      acc[2][k] = _mm512_fmadd_ps(v, y2, acc[2][k]);                                          \
    }                                                                                         \
  }
#define LAUREL_EDGE(kx, a) _mm512_maskz_loadu_ps(km[ix * 3 + kx], a)
#define LAUREL_BLOCK(kx, a) (FULL ? _mm512_loadu_ps(a) : _mm512_maskz_loadu_ps(m, a))
  for (int64_t i = 0; i < nrows; i++) {
    const float* x = xr[i];
    const float* d = dr[i];
    for (int64_t ix = ix0; ix < in0; ix++) LAUREL_COLUMN(LAUREL_EDGE)
    for (int64_t ix = in0; ix < in1; ix++) LAUREL_COLUMN(LAUREL_BLOCK)
    for (int64_t ix = in1; ix < ix1; ix++) LAUREL_COLUMN(LAUREL_EDGE)
  }
#undef LAUREL_BLOCK
#undef LAUREL_EDGE
#undef LAUREL_COLUMN
#pragma GCC unroll 3
  for (int kx = 0; kx < 3; kx++)
#pragma GCC unroll 16
    for (int k = 0; k < KB; k++) {
      float* o = dw + (kx * C + k) * OC;
      _mm512_mask_storeu_ps(o, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, o), acc[kx][k]));
    }
}

constexpr int kRowKB = 8;  // 3·8 accumulators + 3 dy vectors + 1 broadcast ≤ 32 zmm

void row_back_filter(const ConvP& p, const float* x, const float* dy, float* dw) {
  const int64_t rows = p.N * p.OH;
  // Row pairs per pass: x and dy rows of a chunk stay in L2 while every (ky, channel, block) pass reads them.
  const int64_t chunk = std::max<int64_t>(1, (96 << 10) / (p.W * p.C + p.OW * p.OC));
  // Columns of x that some output reads: ox = ix + PL − kx in [0, OW) for a kx in [0, 3).
  const int64_t ix0 = std::max<int64_t>(0, -p.PL), ix1 = std::min<int64_t>(p.W, p.OW + 2 - p.PL);
  sum_over_threads(threads_for(p, p.N * p.OH * p.OW), p.K() * p.OC, dw, [&](int tid, float* acc) {
    const int nt = threads_for(p, p.N * p.OH * p.OW);
    std::vector<const float*> xr(chunk), dr(chunk);
    std::vector<__mmask16> km(p.W * 3);
    for (int64_t r0 = rows * tid / nt, rEnd = rows * (tid + 1) / nt; r0 < rEnd; r0 += chunk) {
      const int64_t r1 = std::min(rEnd, r0 + chunk);
      for (int64_t ky = 0; ky < p.KH; ky++) {
        int64_t nr = 0;  // the row pairs (x row iy, dy row oy) of this chunk for tap row ky
        for (int64_t r = r0; r < r1; r++) {
          const int64_t n = r / p.OH, oy = r % p.OH, iy = oy * p.SH - p.PT + ky * p.DH;
          if (iy < 0 || iy >= p.H) continue;
          xr[nr] = x + (n * p.H + iy) * p.W * p.C;
          dr[nr++] = dy + r * p.OW * p.OC;
        }
        for (int64_t ob = 0; ob < p.OC; ob += 16) {
          const __mmask16 m = static_cast<__mmask16>((1u << std::min<int64_t>(16, p.OC - ob)) - 1u);
          for (int64_t ix = 0; ix < p.W; ix++)
            for (int64_t kx = 0; kx < 3; kx++) {
              const int64_t ox = ix + p.PL - kx;
              km[ix * 3 + kx] = ox >= 0 && ox < p.OW ? m : 0;
            }
          for (int64_t c0 = 0; c0 < p.C; c0 += kRowKB) {
            std::vector<const float*> xs(nr), ds(nr);
            for (int64_t i = 0; i < nr; i++) {
              xs[i] = xr[i] + c0;
              ds[i] = dr[i] + ob;
            }
            float* out = acc + (ky * 3 * p.C + c0) * p.OC + ob;
            switch (std::min<int64_t>(kRowKB, p.C - c0)) {
#define LAUREL_CASE(k)                                                                                  \
  case k:                                                                                               \
    if (m == 0xFFFF)                                                                                    \
      dw_row_micro<k, true>(xs.data(), ds.data(), nr, ix0, ix1, p.PL, p.OW, p.C, p.OC, km.data(), m, out); \
    else                                                                                                \
      dw_row_micro<k, false>(xs.data(), ds.data(), nr, ix0, ix1, p.PL, p.OW, p.C, p.OC, km.data(), m, out); \
    break;
              LAUREL_CASE(1) LAUREL_CASE(2) LAUREL_CASE(3) LAUREL_CASE(4)
              LAUREL_CASE(5) LAUREL_CASE(6) LAUREL_CASE(7) LAUREL_CASE(8)
#undef LAUREL_CASE
              default: break;
            }
          }
        }
      }
    }
  });
}

// Direct backprop-filter: rows split over threads, each summing tiles of 256 rows into its own dw partial.
void direct_back_filter(const ConvP& p, const float* x, const float* dy, float* dw) {
  const int64_t ntaps = p.KH * p.KW, OHW = p.OH * p.OW, rows = p.N * OHW, K = p.K();
  constexpr int64_t kT = 256;
  std::vector<float> zero(p.C, 0.0f);
  const int nt = threads_for(p, rows);
  const TapFill fill(p, x, zero.data());
  sum_over_threads(nt, K * p.OC, dw, [&](int tid, float* acc) {
    int64_t r0 = rows * tid / nt, r1 = rows * (tid + 1) / nt;
    std::vector<const float*> tp(ntaps * kT);
    for (int64_t r = r0; r < r1; r += kT) {
      int64_t T = std::min(kT, r1 - r);
      fill(r, T, tp.data(), T);
      const float* dyt = dy + r * p.OC;
      for (int64_t ob = 0; ob < p.OC; ob += 16) {
        int64_t wb = std::min<int64_t>(16, p.OC - ob);
        if (p.C >= 8 && have_avx512()) {
          for (int64_t t = 0; t < ntaps; t++)
            for (int64_t c0 = 0; c0 < p.C; c0 += 16)
              dw_block512(static_cast<int>(std::min<int64_t>(16, p.C - c0)), tp.data() + t * T, T, c0, dyt + ob,
                          p.OC, wb, acc + t * p.C * p.OC + ob);
          continue;
        }
        if (p.C >= 6) {  // channel blocks within each tap: one row pointer per block
          for (int64_t t = 0; t < ntaps; t++)
            for (int64_t c0 = 0; c0 < p.C; c0 += 6) {
              int kb = static_cast<int>(std::min<int64_t>(6, p.C - c0));
              if (wb == 16)
                dw_block<true, true>(kb, tp.data(), T, p.C, t * p.C + c0, dyt, p.OC, ob, wb, acc);
              else
                dw_block<false, true>(kb, tp.data(), T, p.C, t * p.C + c0, dyt, p.OC, ob, wb, acc);
            }
          continue;
        }
        for (int64_t k0 = 0; k0 < K; k0 += 6) {
          int kb = static_cast<int>(std::min<int64_t>(6, K - k0));
          if (wb == 16)
            dw_block<true, false>(kb, tp.data(), T, p.C, k0, dyt, p.OC, ob, wb, acc);
          else
            dw_block<false, false>(kb, tp.data(), T, p.C, k0, dyt, p.OC, ob, wb, acc);
        }
      }
    }
  });
}

// Wp[b][t][c][j] = w[t][c][16b + j] for forward (w [KH, KW, C, OC]).
std::vector<float> pack_fwd(const ConvP& p, const float* w) {
  const int64_t ntaps = p.KH * p.KW, nblk = (p.OC + 15) / 16;
  std::vector<float> wp(nblk * ntaps * p.C * 16, 0.0f);
  for (int64_t b = 0; b < nblk; b++)
    for (int64_t t = 0; t < ntaps; t++)
      for (int64_t c = 0; c < p.C; c++) {
        float* d = wp.data() + ((b * ntaps + t) * p.C + c) * 16;
        const float* s = w + (t * p.C + c) * p.OC + b * 16;
        for (int64_t j = 0; j < std::min<int64_t>(16, p.OC - b * 16); j++) d[j] = s[j];
      }
  return wp;
}

// Direct backprop-input, any stride: dx[n, iy, ix, c] = Σ_{ky, kx, o} dy[n, oy, ox, o] · w[ky, kx, c, o] over the taps
// with iy = oy·SH − PT + ky·DH (likewise x). The dx pixels are split into SH·SW phases (iy mod SH, ix mod SW);
// within a phase the contributing taps are fixed, so each phase is a small direct conv of dy (channels OC) with
// those taps, done by the forward micro-kernel (weights packed as Wp[b][tap][o][16] = w[tap][16b + j][o]).
// flip: taps in reverse order (ky, kx → KH−1−ky, KW−1−kx), which makes stride-1 backprop-input a forward conv.
std::vector<float> pack_back_input(const ConvP& p, const float* w, bool flip = false) {
  const int64_t ntaps = p.KH * p.KW, nblk = (p.C + 15) / 16;
  std::vector<float> wp(nblk * ntaps * p.OC * 16, 0.0f);
  for (int64_t b = 0; b < nblk; b++)
    for (int64_t t = 0; t < ntaps; t++)
      for (int64_t o = 0; o < p.OC; o++) {
        float* d = wp.data() + ((b * ntaps + t) * p.OC + o) * 16;
        const int64_t ts = flip ? ntaps - 1 - t : t;
        for (int64_t j = 0; j < std::min<int64_t>(16, p.C - b * 16); j++) d[j] = w[(ts * p.C + b * 16 + j) * p.OC + o];
      }
  return wp;
}

// Stride-1 backprop-input as the forward conv of dy with the flipped, transposed kernel and padding K − 1 − pad.
ConvP flipped(const ConvP& p) {
  const int32_t q[15] = {static_cast<int32_t>(p.N),  static_cast<int32_t>(p.OH), static_cast<int32_t>(p.OW),
                         static_cast<int32_t>(p.OC), static_cast<int32_t>(p.H),  static_cast<int32_t>(p.W),
                         static_cast<int32_t>(p.C),  static_cast<int32_t>(p.KH), static_cast<int32_t>(p.KW),
                         1, 1, 1, 1, static_cast<int32_t>(p.KH - 1 - p.PT), static_cast<int32_t>(p.KW - 1 - p.PL)};
  return ConvP(q);
}

inline int64_t floor_mod(int64_t a, int64_t m) { return ((a % m) + m) % m; }

void direct_back_input(const ConvP& p, const float* dy, const float* w, float* dx) {
  if (p.SH == 1 && p.SW == 1 && p.DH == 1 && p.DW == 1 && row_applies(flipped(p))) {
    row_conv(flipped(p), dy, pack_back_input(p, w, true).data(), dx);
    return;
  }
  const int64_t ntaps = p.KH * p.KW, nblk = (p.C + 15) / 16;
  std::vector<float> wp = pack_back_input(p, w);
  std::vector<float> zero(p.OC, 0.0f);
  const int nt = threads_for(p, p.N * p.OH * p.OW);
  auto body = [&](int tid) {
    std::vector<const float*> tp(ntaps * kNP);
    std::vector<int32_t> taps;  // tap indices of this phase
    float* outs[kNP];
    for (int64_t py = 0; py < std::min(p.SH, p.H); py++)
      for (int64_t px = 0; px < std::min(p.SW, p.W); px++) {
        taps.clear();
        for (int64_t ky = 0; ky < p.KH; ky++)
          for (int64_t kx = 0; kx < p.KW; kx++)
            if (floor_mod(py + p.PT - ky * p.DH, p.SH) == 0 && floor_mod(px + p.PL - kx * p.DW, p.SW) == 0)
              taps.push_back(static_cast<int32_t>(ky * p.KW + kx));
        // Tap j of the phase pixel (a, b) (iy = py + a·SH) reads dy at (a + qy[j], b + qx[j]): the divisions
        // are exact and done once per phase, and pixels whose taps all fall inside dy take precomputed offsets.
        std::vector<int64_t> qy, qx, poff;
        int64_t qyMin = INT64_MAX, qyMax = INT64_MIN, qxMin = INT64_MAX, qxMax = INT64_MIN;
        for (int32_t t : taps) {
          qy.push_back((py + p.PT - (t / p.KW) * p.DH) / p.SH);
          qx.push_back((px + p.PL - (t % p.KW) * p.DW) / p.SW);
          poff.push_back((qy.back() * p.OW + qx.back()) * p.OC);
          qyMin = std::min(qyMin, qy.back());
          qyMax = std::max(qyMax, qy.back());
          qxMin = std::min(qxMin, qx.back());
          qxMax = std::max(qxMax, qx.back());
        }
        const int64_t PH = (p.H - py + p.SH - 1) / p.SH, PW = (p.W - px + p.SW - 1) / p.SW;
        const int64_t cnt = p.N * PH * PW, r0 = cnt * tid / nt, r1 = cnt * (tid + 1) / nt;
        const int64_t nk = static_cast<int64_t>(taps.size());
        const int gp = group_pixels();
        for (int64_t r = r0; r < r1; r += gp) {
          int np = static_cast<int>(std::min<int64_t>(gp, r1 - r));
          int64_t n = r / (PH * PW), rem = r % (PH * PW), a = rem / PW, bq = rem % PW;
          for (int i = 0; i < np; i++) {
            const int64_t iy = py + a * p.SH, ix = px + bq * p.SW;
            outs[i] = dx + ((n * p.H + iy) * p.W + ix) * p.C;
            const float* img = dy + n * p.OH * p.OW * p.OC;
            if (nk > 0 && a + qyMin >= 0 && a + qyMax < p.OH && bq + qxMin >= 0 && bq + qxMax < p.OW) {
              const float* base = img + (a * p.OW + bq) * p.OC;
              for (int64_t j = 0; j < nk; j++) tp[j * kNP + i] = base + poff[j];
            } else {
              for (int64_t j = 0; j < nk; j++) {
                const int64_t oy = a + qy[j], ox = bq + qx[j];
                const bool ok = oy >= 0 && oy < p.OH && ox >= 0 && ox < p.OW;
                tp[j * kNP + i] = ok ? img + (oy * p.OW + ox) * p.OC : zero.data();
              }
            }
            if (++bq == PW) {
              bq = 0;
              if (++a == PH) {
                a = 0;
                n++;
              }
            }
          }
          if (nk == 0) {
            for (int i = 0; i < np; i++) std::memset(outs[i], 0, p.C * sizeof(float));
            continue;
          }
          for (int64_t b = 0; b < nblk; b++) {
            int64_t wb = std::min<int64_t>(16, p.C - b * 16);
            float* o[kNP];
            for (int i = 0; i < np; i++) o[i] = outs[i] + b * 16;
            run_micro(np, tp.data(), nk, taps.data(), p.OC, wp.data() + b * ntaps * p.OC * 16, o, wb);
          }
        }
      }
  };
  on_threads(nt, body);
}
#endif

// conv2d(x, w, out, params): out[N, OH, OW, OC] = conv(x[N, H, W, C], w[KH, KW, C, OC]).
Napi::Value Conv2d(const Napi::CallbackInfo& info) {
  const Arr<float> x = f32(info, 0), w = f32(info, 1), out = f32(info, 2);
  const ConvP p = conv_params(info, 3);
  need(x, p.in_size(), "x");
  need(w, p.w_size(), "filter");
  need(out, p.out_size(), "out");
  if (p.K() == 0) std::fill(out.p, out.p + p.out_size(), 0.0f);  // no taps: zeros (OpenBLAS rejects K = 0)
  if (p.K() == 0 || p.out_size() == 0) return info.Env().Undefined();
  const int64_t K = p.K(), rows = p.N * p.OH * p.OW, T = tile_rows(p);
  const bool pw = p.pointwise();
#ifdef LAUREL_DIRECT
  if (!pw && p.OC >= 8 && have_avx2() && !direct_disabled()) {
    if (row_applies(p))
      row_conv(p, x, pack_fwd(p, w).data(), out);
    else
      direct_conv(p, x, pack_fwd(p, w).data(), out);
    return info.Env().Undefined();
  }
#endif
  const int nt = threads_for(p, rows);
  for_threads(nt, [&](int tid) {
    int64_t r0 = rows * tid / nt, r1 = rows * (tid + 1) / nt;
    if (pw) {  // 1x1 stride 1: the input is the im2col matrix already
      if (r1 > r0)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, r1 - r0, p.OC, K, 1.0f, x + r0 * K, K, w, p.OC, 0.0f,
                    out + r0 * p.OC, p.OC);
      return;
    }
    float* col = scratch(T * K);
    for (int64_t r = r0; r < r1; r += T) {
      int64_t m = std::min(T, r1 - r);
      im2col_rows(p, x, r, r + m, col);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, p.OC, K, 1.0f, col, K, w, p.OC, 0.0f,
                  out + r * p.OC, p.OC);
    }
  });
  return info.Env().Undefined();
}

// conv2dBackInput(dy, w, dx, params): dcol = dy · Wᵀ tile by tile, scattered back (col2im) into dx.
Napi::Value Conv2dBackInput(const Napi::CallbackInfo& info) {
  const Arr<float> dy = f32(info, 0), w = f32(info, 1), dx = f32(info, 2);
  const ConvP p = conv_params(info, 3);
  need(dy, p.out_size(), "dy");
  need(w, p.w_size(), "filter");
  need(dx, p.in_size(), "dx");
  if (p.K() == 0 || p.out_size() == 0) {  // no tap or no output reaches dx
    std::fill(dx.p, dx.p + p.in_size(), 0.0f);
    return info.Env().Undefined();
  }
  const int64_t K = p.K(), OHW = p.OH * p.OW, T = tile_rows(p);
  if (p.pointwise()) {
    const int64_t rows = p.N * OHW;
    const int nt = threads_for(p, rows);
    for_threads(nt, [&](int tid) {
      int64_t r0 = rows * tid / nt, r1 = rows * (tid + 1) / nt;
      if (r1 > r0)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, r1 - r0, p.C, p.OC, 1.0f, dy + r0 * p.OC, p.OC, w, p.OC,
                    0.0f, dx + r0 * p.C, p.C);
    });
    return info.Env().Undefined();
  }
#ifdef LAUREL_DIRECT
  if (!p.pointwise() && p.C >= 8 && have_avx2() && !direct_disabled()) {
    direct_back_input(p, dy, w, dx);
    return info.Env().Undefined();
  }
#endif
  // Images are split over threads (col2im of an image stays in one thread); with fewer images than threads,
  // one thread and a multi-threaded sgemm.
  int nt = std::min<int64_t>(threads_for(p, p.N * OHW), p.N);
  auto body = [&](int tid, int ntt) {
    int64_t n0 = p.N * tid / ntt, n1 = p.N * (tid + 1) / ntt;
    if (n1 <= n0) return;
    std::memset(dx + n0 * p.H * p.W * p.C, 0, (n1 - n0) * p.H * p.W * p.C * sizeof(float));
    float* dcol = scratch(T * K);
    for (int64_t r = n0 * OHW; r < n1 * OHW; r += T) {
      int64_t m = std::min(T, n1 * OHW - r);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, K, p.OC, 1.0f, dy + r * p.OC, p.OC, w, p.OC, 0.0f, dcol,
                  K);
      col2im_rows(p, dcol, r, r + m, dx);
    }
  };
  if (nt <= 1)
    body(0, 1);
  else
    for_threads(nt, [&](int tid) { body(tid, nt); });
  return info.Env().Undefined();
}

// conv2dBackFilter(x, dy, dw, params): dw[K, OC] = Σ_rows col[r, :]ᵀ dy[r, :]; each thread sums its rows into
// a partial dw, and the partials are added at the end.
Napi::Value Conv2dBackFilter(const Napi::CallbackInfo& info) {
  const Arr<float> x = f32(info, 0), dy = f32(info, 1), dw = f32(info, 2);
  const ConvP p = conv_params(info, 3);
  need(x, p.in_size(), "x");
  need(dy, p.out_size(), "dy");
  need(dw, p.w_size(), "dw");
  if (p.K() == 0 || p.out_size() == 0) {  // an empty sum
    std::fill(dw.p, dw.p + p.w_size(), 0.0f);
    return info.Env().Undefined();
  }
  const int64_t K = p.K(), rows = p.N * p.OH * p.OW, T = tile_rows(p), KO = K * p.OC;
  const bool pw = p.pointwise();
#ifdef LAUREL_DIRECT
  if (!pw && p.OC >= 8 && have_avx2() && !direct_disabled()) {
    if (row_applies(p) && p.C >= kRowKB)  // fewer channels: too few FMAs per loaded dy vector
      row_back_filter(p, x, dy, dw);
    else
      direct_back_filter(p, x, dy, dw);
    return info.Env().Undefined();
  }
#endif
  const int nt = threads_for(p, rows);
  std::vector<float> partial(static_cast<size_t>(std::max(0, nt - 1)) * KO);
  for_threads(nt, [&](int tid) {
    float* acc = tid == 0 ? dw : partial.data() + (tid - 1) * KO;
    int64_t r0 = rows * tid / nt, r1 = rows * (tid + 1) / nt;
    if (r1 <= r0) {
      std::memset(acc, 0, KO * sizeof(float));
      return;
    }
    if (pw) {
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, p.OC, r1 - r0, 1.0f, x + r0 * K, K, dy + r0 * p.OC,
                  p.OC, 0.0f, acc, p.OC);
      return;
    }
    float* col = scratch(T * K);
    for (int64_t r = r0; r < r1; r += T) {
      int64_t m = std::min(T, r1 - r);
      im2col_rows(p, x, r, r + m, col);
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, p.OC, m, 1.0f, col, K, dy + r * p.OC, p.OC,
                  r == r0 ? 0.0f : 1.0f, acc, p.OC);
    }
  });
  for (int t = 1; t < nt; t++) {
    const float* s = partial.data() + (t - 1) * KO;
    for (int64_t i = 0; i < KO; i++) dw[i] += s[i];
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
  const int op = int_arg(info, 0, 0, 1);
  const Arr<float> x = f32(info, 1), out = f32(info, 2);
  const PoolP p(window_params(info, 3, 14, 8));
  need(x, prod({p.N, p.H, p.W, p.C}), "x");
  need(out, prod({p.N, p.OH, p.OW, p.C}), "out");
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
              for (int64_t c = 0; c < p.C; c++) acc[c] = src[c] > acc[c] ? src[c] : acc[c];  // NaN never wins (tfjs)
            else
              for (int64_t c = 0; c < p.C; c++) acc[c] += src[c];
          }
        }
        float* dst = out + ((n * p.OH + oy) * p.OW + ox) * p.C;
        if (op == 0)
          std::memcpy(dst, acc.data(), p.C * sizeof(float));
        else {
          // A window wholly in the padding averages nothing: 0·∞ = NaN, as tfjs's 0 / 0.
          float inv = 1.0f / static_cast<float>(count);
          for (int64_t c = 0; c < p.C; c++) dst[c] = acc[c] * inv;
        }
      }
    }
  });
  return info.Env().Undefined();
}

// poolGrad(op, dy, x, dx, params): max routes dy to the first maximum of each window (as tfjs does);
// avg spreads dy / (window size) over the window's valid positions (as tfjs does).
Napi::Value PoolGrad(const Napi::CallbackInfo& info) {
  const int op = int_arg(info, 0, 0, 1);
  const Arr<float> dy = f32(info, 1), dx = f32(info, 3);
  const Arr<float> x = op == 0 ? f32(info, 2) : Arr<float>{};
  const PoolP p(window_params(info, 4, 14, 8));
  need(dy, prod({p.N, p.OH, p.OW, p.C}), "dy");
  need_opt(x, prod({p.N, p.H, p.W, p.C}), "x");
  need(dx, prod({p.N, p.H, p.W, p.C}), "dx");
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
                  if (v > best[c]) {  // the forward's maximum: NaN skipped, a window of only -inf/NaN gets none
                    best[c] = v;
                    where[c] = base + c;
                  }
                }
              }
            }
            for (int64_t c = 0; c < p.C; c++)
              if (where[c] >= 0) dimg[where[c]] += g[c];
          } else {
            // tfjs's AvgPoolGrad divides by the whole window even where the forward averaged fewer (padding);
            // its conformance suite pins that, so the native gradient does the same.
            const float inv = 1.0f / static_cast<float>(p.KH * p.KW);
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
  def(env, exports, "conv2d", Conv2d, 4);
  def(env, exports, "conv2dBackInput", Conv2dBackInput, 4);
  def(env, exports, "conv2dBackFilter", Conv2dBackFilter, 4);
  def(env, exports, "pool", Pool, 4);
  def(env, exports, "poolGrad", PoolGrad, 5);
}

}  // namespace laurel
