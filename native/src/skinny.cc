// Skinny GEMMs with AVX-512 micro-kernels: the 1×1 projections of LAUREL's low-rank path on [rows, C] maps,
// where OpenBLAS reaches ~14 GFLOP/s on one core because its kernels are built for large square tiles.
//  - tall:  C[rows, N] = A[rows, K] · B[K, N]       (N ≤ 64; B is repacked into 16-column blocks, any layout)
//  - deep:  C[M, N]   += A[L, M]ᵀ · B[L, N] over L  (M, N ≤ 64; A and B row-major over the long dimension L)
// Both keep a tile of C in zmm registers and stream the long dimension through it once. Measured on this
// machine's AVX-512 Xeon, one thread, [100352, 16]·[16, 16]: 3–4× OpenBLAS (1.3 ms against 4.9).
// Below them: RW+LR's forward and backward as one pass over the rows for D ≤ 2r (LowRankCombineRows, ...Grad).
// x86-64 CPUs without AVX-512 run the same products' AVX2 forms (skinny_avx2.cc; LAUREL_SKINNY=avx2 picks them
// on an AVX-512 CPU too, for tests; LAUREL_SKINNY=0 turns both off, for benchmarks). Elsewhere (ARM64: Linux
// servers, Apple Silicon) skinny_available() is false: the products stay on OpenBLAS (skinny_tall / skinny_deep
// below are plain loops, correct but never chosen), and the row kernels are not exported, so JavaScript keeps
// its GEMM path.
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "common.h"
#include "relu_grad.h"
#include "skinny.h"

namespace laurel {
#if defined(__x86_64__)
namespace {
// Rows per chunk of the combine's gradient: its three passes (elementwise, then the two products) alternate
// between memory and L1 work at this grain; 128 measured 5–10 % faster than 256 on ResNet-20's shapes.
constexpr int64_t kGradChunk = 128;
}  // namespace

namespace avx512 {
namespace {

#define LAUREL_AVX512 __attribute__((target("avx512f")))

inline __mmask16 mask_of(int64_t width) {
  if (width <= 0) return 0;
  return width >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << width) - 1u);
}

// R rows × NB 16-column blocks (all of N ≤ 64): c[i, :] = Σ_k a[i, k] · bp[k, :] for i < R (bp zero-padded past
// N, the last block's stores masked by mlast). One broadcast of a[i, k] feeds NB FMAs, so for NB ≥ 2 the loads
// (NB + R per k) stay under the FMAs (R·NB): a tile per block, as before, re-broadcast A for every block and ran
// load-bound at ~¼ of the FMA peak on [25088, 32]·[32, 32].
// The epilogue (skinny.h's TallEpilogue) is the LAUREL combine's forward.
template <int R, int NB>
LAUREL_AVX512 void tall_micro(const float* a, int64_t lda, const float* bp, int64_t K, float* c, int64_t ldc,
                              __mmask16 mlast, const TallEpilogue& e) {
  __m512 acc[R][NB];
#pragma GCC unroll 8
  for (int i = 0; i < R; i++)
#pragma GCC unroll 4
    for (int nb = 0; nb < NB; nb++) acc[i][nb] = _mm512_setzero_ps();
  for (int64_t k = 0; k < K; k++) {
    __m512 b[NB];
#pragma GCC unroll 4
    for (int nb = 0; nb < NB; nb++) b[nb] = _mm512_loadu_ps(bp + (nb * K + k) * 16);
#pragma GCC unroll 8
    for (int i = 0; i < R; i++) {
      const __m512 v = _mm512_set1_ps(a[i * lda + k]);
#pragma GCC unroll 4
      for (int nb = 0; nb < NB; nb++) acc[i][nb] = _mm512_fmadd_ps(v, b[nb], acc[i][nb]);
    }
  }
  if (e.f) {  // α·f + acc, in registers before the one store (no second pass over c)
    const __m512 va = _mm512_set1_ps(e.alpha), zero = _mm512_setzero_ps();
#pragma GCC unroll 8
    for (int i = 0; i < R; i++)
#pragma GCC unroll 4
      for (int nb = 0; nb < NB; nb++) {
        const __mmask16 m = nb == NB - 1 ? mlast : __mmask16(0xFFFF);
        acc[i][nb] = _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(m, e.f + i * ldc + nb * 16), acc[i][nb]);
        if (e.relu) acc[i][nb] = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(acc[i][nb], zero, _CMP_LT_OQ), acc[i][nb], zero);
      }
  }
#pragma GCC unroll 8
  for (int i = 0; i < R; i++)
#pragma GCC unroll 4
    for (int nb = 0; nb < NB; nb++)
      _mm512_mask_storeu_ps(c + i * ldc + nb * 16, nb == NB - 1 ? mlast : __mmask16(0xFFFF), acc[i][nb]);
}

// I values of the short dimension × NB 16-column blocks (all of N ≤ 64), summed over l in [0, L):
// c[i, :] += Σ_l a[l, i] · b[l, :] (the last block masked by mlast). Per l: NB loads of b and I broadcasts of a
// feed I·NB FMAs.
template <int I, int NB>
LAUREL_AVX512 void deep_micro(const float* a, int64_t lda, const float* b, int64_t ldb, int64_t L, float* c,
                              int64_t ldc, __mmask16 mlast) {
  auto mask = [&](int nb) { return nb == NB - 1 ? mlast : __mmask16(0xFFFF); };
  __m512 acc[I][NB];
#pragma GCC unroll 16
  for (int i = 0; i < I; i++)
#pragma GCC unroll 4
    for (int nb = 0; nb < NB; nb++) acc[i][nb] = _mm512_maskz_loadu_ps(mask(nb), c + i * ldc + nb * 16);
  for (int64_t l = 0; l < L; l++) {
    __m512 bl[NB];
#pragma GCC unroll 4
    for (int nb = 0; nb < NB; nb++) bl[nb] = _mm512_maskz_loadu_ps(mask(nb), b + l * ldb + nb * 16);
#pragma GCC unroll 16
    for (int i = 0; i < I; i++) {
      const __m512 ai = _mm512_set1_ps(a[l * lda + i]);
#pragma GCC unroll 4
      for (int nb = 0; nb < NB; nb++) acc[i][nb] = _mm512_fmadd_ps(ai, bl[nb], acc[i][nb]);
    }
  }
#pragma GCC unroll 16
  for (int i = 0; i < I; i++)
#pragma GCC unroll 4
    for (int nb = 0; nb < NB; nb++) _mm512_mask_storeu_ps(c + i * ldc + nb * 16, mask(nb), acc[i][nb]);
}

// Rows of C in tiles of R (R·NB ≤ 24 accumulators: 8 rows for one or two blocks, 6 for three or four), then
// the remainder rows one tile.
template <int NB>
void tall_blocks(int64_t rows, int64_t K, const float* A, int64_t lda, const float* bp, float* C, int64_t N,
                 const TallEpilogue& e) {
  constexpr int R = NB <= 2 ? 8 : 6;
  const __mmask16 mlast = mask_of(N - (NB - 1) * 16);
  int64_t r = 0;
  for (; r + R <= rows; r += R) tall_micro<R, NB>(A + r * lda, lda, bp, K, C + r * N, N, mlast, e.at(r * N));
  const float* a = A + r * lda;
  float* c = C + r * N;
  const TallEpilogue er = e.at(r * N);
  switch (rows - r) {
    case 7: tall_micro<7, NB>(a, lda, bp, K, c, N, mlast, er); break;
    case 6: tall_micro<6, NB>(a, lda, bp, K, c, N, mlast, er); break;
    case 5: tall_micro<5, NB>(a, lda, bp, K, c, N, mlast, er); break;
    case 4: tall_micro<4, NB>(a, lda, bp, K, c, N, mlast, er); break;
    case 3: tall_micro<3, NB>(a, lda, bp, K, c, N, mlast, er); break;
    case 2: tall_micro<2, NB>(a, lda, bp, K, c, N, mlast, er); break;
    case 1: tall_micro<1, NB>(a, lda, bp, K, c, N, mlast, er); break;
    default: break;
  }
}

// C[rows, N] = A[rows, K] · op(B) (bp from skinny_pack_b), with the epilogue e applied before the store.
void tall_product(int64_t rows, int64_t N, int64_t K, const float* A, int64_t lda, const float* bp, float* C,
                  const TallEpilogue& e) {
  switch ((N + 15) / 16) {
    case 1: tall_blocks<1>(rows, K, A, lda, bp, C, N, e); break;
    case 2: tall_blocks<2>(rows, K, A, lda, bp, C, N, e); break;
    case 3: tall_blocks<3>(rows, K, A, lda, bp, C, N, e); break;
    case 4: tall_blocks<4>(rows, K, A, lda, bp, C, N, e); break;
    default: break;  // callers keep N ≤ 64
  }
}

// All M short-dimension values in tiles of I (I·NB ≤ 24 accumulators), then the remainder one tile.
template <int NB>
void deep_blocks(int64_t M, int64_t N, int64_t L, const float* a, int64_t lda, const float* b, int64_t ldb, float* c) {
  constexpr int I = NB == 1 ? 8 : NB == 2 ? 12 : 6;
  const __mmask16 mlast = mask_of(N - (NB - 1) * 16);
  int64_t i = 0;
  for (; i + I <= M; i += I) deep_micro<I, NB>(a + i, lda, b, ldb, L, c + i * N, N, mlast);
  switch (M - i) {
    case 11: deep_micro<11, NB>(a + i, lda, b, ldb, L, c + i * N, N, mlast); break;
    case 10: deep_micro<10, NB>(a + i, lda, b, ldb, L, c + i * N, N, mlast); break;
    case 9: deep_micro<9, NB>(a + i, lda, b, ldb, L, c + i * N, N, mlast); break;
    case 8: deep_micro<8, NB>(a + i, lda, b, ldb, L, c + i * N, N, mlast); break;
    case 7: deep_micro<7, NB>(a + i, lda, b, ldb, L, c + i * N, N, mlast); break;
    case 6: deep_micro<6, NB>(a + i, lda, b, ldb, L, c + i * N, N, mlast); break;
    case 5: deep_micro<5, NB>(a + i, lda, b, ldb, L, c + i * N, N, mlast); break;
    case 4: deep_micro<4, NB>(a + i, lda, b, ldb, L, c + i * N, N, mlast); break;
    case 3: deep_micro<3, NB>(a + i, lda, b, ldb, L, c + i * N, N, mlast); break;
    case 2: deep_micro<2, NB>(a + i, lda, b, ldb, L, c + i * N, N, mlast); break;
    case 1: deep_micro<1, NB>(a + i, lda, b, ldb, L, c + i * N, N, mlast); break;
    default: break;
  }
}

// C[M, N] += A[L, M]ᵀ · B[L, N] (defined below, with the row kernels that use it).
void deep_rows(int64_t M, int64_t N, int64_t L, const float* A, int64_t lda, const float* B, int64_t ldb, float* C);
// The row kernels' gradient pass: g = relu_grad(dy, y) into gm (or dy), df = α·g, returns Σ g·f (defined below).
float scale_mask_dot(int64_t n, const float* dy, const float* y, const float* f, float a, float* gm, float* df);

}  // namespace
}  // namespace avx512

namespace {
enum class Isa { none, avx2, avx512 };

// The instruction set of our skinny kernels on this CPU: AVX-512, else AVX2 + FMA, else none (OpenBLAS).
Isa isa() {
  static const Isa v = [] {
    const char* e = std::getenv("LAUREL_SKINNY");
    const bool off = e != nullptr && e[0] == '0', only2 = e != nullptr && std::string(e) == "avx2";
    if (off) return Isa::none;
    if (!only2 && __builtin_cpu_supports("avx512f")) return Isa::avx512;
    return avx2::available() ? Isa::avx2 : Isa::none;
  }();
  return v;
}

void tall_product(int64_t rows, int64_t N, int64_t K, const float* A, int64_t lda, const float* bp, float* C,
                  const TallEpilogue& e) {
  if (isa() == Isa::avx512)
    avx512::tall_product(rows, N, K, A, lda, bp, C, e);
  else
    avx2::tall_product(rows, N, K, A, lda, bp, C, e);
}

void deep_rows(int64_t M, int64_t N, int64_t L, const float* A, int64_t lda, const float* B, int64_t ldb, float* C) {
  if (isa() == Isa::avx512)
    avx512::deep_rows(M, N, L, A, lda, B, ldb, C);
  else
    avx2::deep_rows(M, N, L, A, lda, B, ldb, C);
}

float scale_mask_dot(int64_t n, const float* dy, const float* y, const float* f, float a, float* gm, float* df) {
  return isa() == Isa::avx512 ? avx512::scale_mask_dot(n, dy, y, f, a, gm, df)
                              : avx2::scale_mask_dot(n, dy, y, f, a, gm, df);
}
}  // namespace

bool skinny_available() { return isa() != Isa::none; }
int64_t skinny_deep_max_mn() { return isa() == Isa::avx512 ? 64 * 64 : 32 * 64; }
#else
bool skinny_available() { return false; }
int64_t skinny_deep_max_mn() { return 0; }
#endif

void skinny_pack_b(bool tb, int64_t K, int64_t N, const float* B, int64_t ldb, float* bp) {
  // bp[nb][k][0:16] = op(B)[k, 16nb : 16nb + 16], zero past N.
  for (int64_t nb = 0; nb * 16 < N; nb++)
    for (int64_t k = 0; k < K; k++)
      for (int64_t j = 0; j < 16; j++) {
        int64_t n = nb * 16 + j;
        bp[(nb * K + k) * 16 + j] = n < N ? (tb ? B[n * ldb + k] : B[k * ldb + n]) : 0.0f;
      }
}

#if defined(__x86_64__)
void skinny_tall(int64_t rows, int64_t N, int64_t K, const float* A, int64_t lda, const float* bp, float* C) {
  tall_product(rows, N, K, A, lda, bp, C, TallEpilogue{});
}

void skinny_deep(int64_t M, int64_t N, int64_t L, const float* A, int64_t lda, const float* B, int64_t ldb,
                 float* C) {
  for (int64_t i = 0; i < M * N; i++) C[i] = 0.0f;
  deep_rows(M, N, L, A, lda, B, ldb, C);
}
#else
// Portable forms (16-wide inner loops for the compiler to vectorise), same contracts as above.
void skinny_tall(int64_t rows, int64_t N, int64_t K, const float* A, int64_t lda, const float* bp, float* C) {
  for (int64_t i = 0; i < rows; i++)
    for (int64_t nb = 0; nb * 16 < N; nb++) {
      float acc[16] = {};
      for (int64_t k = 0; k < K; k++) {
        const float a = A[i * lda + k];
        const float* b = bp + (nb * K + k) * 16;
        for (int j = 0; j < 16; j++) acc[j] += a * b[j];
      }
      for (int64_t j = 0; j < 16 && nb * 16 + j < N; j++) C[i * N + nb * 16 + j] = acc[j];
    }
}

void skinny_deep(int64_t M, int64_t N, int64_t L, const float* A, int64_t lda, const float* B, int64_t ldb,
                 float* C) {
  for (int64_t i = 0; i < M * N; i++) C[i] = 0.0f;
  for (int64_t l = 0; l < L; l++)
    for (int64_t i = 0; i < M; i++) {
      const float a = A[l * lda + i];
      for (int64_t j = 0; j < N; j++) C[i * N + j] += a * B[l * ldb + j];
    }
}
#endif

#if defined(__x86_64__)
namespace avx512 {
namespace {

// C[M, N] += A[L, M]ᵀ · B[L, N], in chunks of kChunk rows of the long dimension.
void deep_rows(int64_t M, int64_t N, int64_t L, const float* A, int64_t lda, const float* B, int64_t ldb, float* C) {
  for (int64_t l0 = 0; l0 < L; l0 += kChunk) {
    const int64_t len = L - l0 < kChunk ? L - l0 : kChunk;
    const float* a = A + l0 * lda;
    const float* b = B + l0 * ldb;
    switch ((N + 15) / 16) {
      case 1: deep_blocks<1>(M, N, len, a, lda, b, ldb, C); break;
      case 2: deep_blocks<2>(M, N, len, a, lda, b, ldb, C); break;
      case 3: deep_blocks<3>(M, N, len, a, lda, b, ldb, C); break;
      case 4: deep_blocks<4>(M, N, len, a, lda, b, ldb, C); break;
      default: break;  // callers keep N ≤ 64
    }
  }
}

// The gradient's elementwise part over n values: g = relu_grad(dy, y) (y given: the ReLU form; g is written to gm)
// or dy, df = α·g; returns Σ g·f.
LAUREL_AVX512 float scale_mask_dot(int64_t n, const float* dy, const float* y, const float* f, float a, float* gm,
                                   float* df) {
  const __m512 va = _mm512_set1_ps(a);
  __m512 acc = _mm512_setzero_ps();
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = mask_of(n - i);
    __m512 g = _mm512_maskz_loadu_ps(m, dy + i);
    if (y) {
      g = relu_grad16(g, _mm512_maskz_loadu_ps(m, y + i));
      _mm512_mask_storeu_ps(gm + i, m, g);
    }
    _mm512_mask_storeu_ps(df + i, m, _mm512_mul_ps(va, g));
    acc = _mm512_fmadd_ps(g, _mm512_maskz_loadu_ps(m, f + i), acc);
  }
  return _mm512_reduce_add_ps(acc);
}

// The whole gradient for D = 16 (one zmm per row: ResNets' first stage), 8 rows at a time and every step in
// registers: G (16 zmm) stays in registers across all the rows, and each row's masked gradient g goes through
// an L1 buffer only (for its broadcasts). The chunked passes below reread each chunk three times, with memory
// work and arithmetic in separate phases; here they interleave. rows must be a multiple of 8. Adds Σ g·f to
// *sumA and xᵀ·g to G.
LAUREL_AVX512 void grad_rows16(int64_t rows, const float* dy, const float* y, const float* fx, const float* x,
                               const float* bpT, float a, float* dfx, float* dx, float* G, float* sumA) {
  __m512 g16[16];
#pragma GCC unroll 16
  for (int j = 0; j < 16; j++) g16[j] = _mm512_loadu_ps(G + j * 16);
  const __m512 va = _mm512_set1_ps(a);
  __m512 accA = _mm512_setzero_ps();
  alignas(64) float gbuf[8 * 16];
  for (int64_t r = 0; r < rows; r += 8) {
    const int64_t o = r * 16;
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) {  // g = relu_grad(dy, y), α·g, Σ g·f
      __m512 g = _mm512_loadu_ps(dy + o + i * 16);
      if (y) g = relu_grad16(g, _mm512_loadu_ps(y + o + i * 16));
      _mm512_store_ps(gbuf + i * 16, g);
      _mm512_storeu_ps(dfx + o + i * 16, _mm512_mul_ps(va, g));
      accA = _mm512_fmadd_ps(g, _mm512_loadu_ps(fx + o + i * 16), accA);
    }
    __m512 acc[8];  // dx rows = g · Bᵀ
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) acc[i] = _mm512_setzero_ps();
#pragma GCC unroll 16
    for (int k = 0; k < 16; k++) {
      const __m512 bt = _mm512_loadu_ps(bpT + k * 16);
#pragma GCC unroll 8
      for (int i = 0; i < 8; i++) acc[i] = _mm512_fmadd_ps(_mm512_set1_ps(gbuf[i * 16 + k]), bt, acc[i]);
    }
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) _mm512_storeu_ps(dx + o + i * 16, acc[i]);
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) {  // G += x_rowᵀ · g
      const __m512 g = _mm512_load_ps(gbuf + i * 16);
      const float* xr = x + o + i * 16;
#pragma GCC unroll 16
      for (int j = 0; j < 16; j++) g16[j] = _mm512_fmadd_ps(_mm512_set1_ps(xr[j]), g, g16[j]);
    }
  }
#pragma GCC unroll 16
  for (int j = 0; j < 16; j++) _mm512_storeu_ps(G + j * 16, g16[j]);
  *sumA += _mm512_reduce_add_ps(accA);
}

}  // namespace
}  // namespace avx512

namespace {

// ---- RW+LR with D ≤ 2r as one pass over the rows: out = α·fx + x·B, B = β·(I + V·U) [D, D] ----------------
// Rows go in chunks of kChunk (they stay in L2 between the steps of a chunk), chunks split over our threads.

// lowRankCombineRows(fx, x, B, alpha, out, D[, relu]): forward (relu: then ReLU, NaN passing as in tf.relu).
Napi::Value LowRankCombineRows(const Napi::CallbackInfo& info) {
  const Arr<float> fx = f32(info, 0), x = f32(info, 1), B = f32(info, 2), out = f32(info, 4);
  const float a = static_cast<float>(dbl(info, 3));
  const int64_t D = int_arg(info, 5, 1, 64);  // the tall kernels hold N ≤ 64 columns
  const bool relu = info.Length() > 6 && info[6].ToBoolean().Value();
  const int64_t M = out.n / D;
  need_each(M * D, {{fx, "fx"}, {x, "x"}});
  need(B, D * D, "B");
  std::vector<float> bp(static_cast<size_t>(16 * D * ((D + 15) / 16)));
  skinny_pack_b(false, D, D, B, D, bp.data());
  const int64_t chunks = (M + kChunk - 1) / kChunk;
  parallel_for(chunks, 4, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; c++) {
      const int64_t r0 = c * kChunk, rows = M - r0 < kChunk ? M - r0 : kChunk;
      float* o = out + r0 * D;
      const float* f = fx + r0 * D;
      tall_product(rows, D, D, x + r0 * D, D, bp.data(), o, TallEpilogue{f, a, relu});
    }
  });
  return info.Env().Undefined();
}

// lowRankCombineGradRows(dy, fx, x, B, alpha, dfx, dx, G, dAlpha, D[, y]): dfx = α·dy, dx = dy·Bᵀ,
// G = xᵀ·dy [D, D] (∂L/∂B), dAlpha[0] = Σ dy·fx. With y (the forward's ReLU output) relu_grad(dy, y) stands for dy:
// each chunk is masked once into a scratch that stays in L2 for the three uses.
Napi::Value LowRankCombineGradRows(const Napi::CallbackInfo& info) {
  const Arr<float> dy = f32(info, 0), fx = f32(info, 1), x = f32(info, 2), B = f32(info, 3);
  const float a = static_cast<float>(dbl(info, 4));
  const Arr<float> dfx = f32(info, 5), dx = f32(info, 6), G = f32(info, 7), dAlpha = f32(info, 8);
  const int64_t D = int_arg(info, 9, 1, 64);  // the tall kernels hold N ≤ 64 columns
  const Arr<float> y = f32_opt(info, 10);
  const int64_t M = dy.n / D;
  need_each(M * D, {{fx, "fx"}, {x, "x"}, {dfx, "dfx"}, {dx, "dx"}});
  need_opt(y, M * D, "y");
  need_each(D * D, {{B, "B"}, {G, "G"}});
  need(dAlpha, 1, "dAlpha");
  std::vector<float> bpT(static_cast<size_t>(16 * D * ((D + 15) / 16)));
  skinny_pack_b(true, D, D, B, D, bpT.data());
  const int nt = pool_threads();
  const int64_t DD = D * D;
  std::vector<float> gPart(static_cast<size_t>(nt) * DD, 0.0f);
  std::vector<double> aPart(static_cast<size_t>(nt), 0.0);  // dα: one float sum per chunk, added in double
  on_threads(nt, [&](int tid) {
    float* g = gPart.data() + tid * DD;
    std::vector<float> masked(y ? static_cast<size_t>(kGradChunk * D) : 0);
    int64_t r0 = M * tid / nt;
    const int64_t rEnd = M * (tid + 1) / nt;
    if (D == 16 && isa() == Isa::avx512) {  // whole 8-row blocks in one pass, the rest (< 8) by the chunked passes
      const int64_t n8 = (rEnd - r0) / 8 * 8;
      // dα's float partial per 1024 rows (16 lanes of 1024 products), added in double; G stays in registers
      // within each call
      constexpr int64_t kBlock = 1024;
      for (int64_t b = 0; b < n8; b += kBlock) {
        const int64_t rows = n8 - b < kBlock ? n8 - b : kBlock;
        const int64_t o = (r0 + b) * D;
        float part = 0.0f;
        avx512::grad_rows16(rows, dy + o, y ? y + o : nullptr, fx + o, x + o, bpT.data(), a, dfx + o, dx + o, g, &part);
        aPart[tid] += part;
      }
      r0 += n8;
    }
    for (; r0 < rEnd; r0 += kGradChunk) {
      const int64_t rows = rEnd - r0 < kGradChunk ? rEnd - r0 : kGradChunk;
      const float* d = dy + r0 * D;
      aPart[tid] += scale_mask_dot(rows * D, d, y ? y + r0 * D : nullptr, fx + r0 * D, a, masked.data(), dfx + r0 * D);
      if (y) d = masked.data();  // the masked gradient, for the two products below
      skinny_tall(rows, D, D, d, D, bpT.data(), dx + r0 * D);
      deep_rows(D, D, rows, x + r0 * D, D, d, D, g);
    }
  });
  for (int64_t i = 0; i < DD; i++) {
    float s = 0.0f;
    for (int t = 0; t < nt; t++) s += gPart[t * DD + i];
    G[i] = s;
  }
  double s = 0.0;
  for (const double v : aPart) s += v;
  dAlpha[0] = static_cast<float>(s);
  return info.Env().Undefined();
}

}  // namespace
#endif

void register_skinny(Napi::Env env, Napi::Object exports) {
  if (!skinny_available()) return;  // JavaScript keeps its GEMM path where these are absent
#if defined(__x86_64__)
  def(env, exports, "lowRankCombineRows", LowRankCombineRows, 6, 7);
  def(env, exports, "lowRankCombineGradRows", LowRankCombineGradRows, 10, 11);
  // The widest D for which the row kernels beat the split form's GEMMs at ResNet ranks (r = 16): 64 with
  // AVX-512; 32 with AVX2, whose D = 64 tile costs 2× the split form's FLOPs at half AVX-512's width (measured
  // 2× slower, forward and backward, on [6272, 64] rows).
  exports.Set("rowsMaxD", Napi::Number::New(env, isa() == Isa::avx512 ? 64 : 32));
#endif
}

}  // namespace laurel
