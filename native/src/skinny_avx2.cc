// AVX2 + FMA forms of the skinny products (contracts in skinny.h), for x86-64 CPUs without AVX-512 (AMD before
// Zen 4, most Intel client CPUs), where these shapes otherwise go to OpenBLAS and its kernels for large square
// tiles. A ymm holds 8 floats and there are 16 of them (AVX-512: 16 and 32), so a tile covers one packed
// 16-column block of C (two ymm) and 6 rows: 12 accumulators, and per step of the inner dimension 2 loads of B and
// 6 broadcasts of A for 12 FMAs. Wider N takes one pass per block; the tile's rows of A stay in L1 between them.
#include "relu_grad.h"
#include "skinny.h"

#if defined(__x86_64__)
#include <immintrin.h>

namespace laurel::avx2 {
namespace {

#define LAUREL_AVX2 __attribute__((target("avx2,fma")))

constexpr int kRows = 6;  // rows of C per tile (12 accumulators for a full block)

// Lanes [0, n) of a ymm mask (n ≤ 0: none; n ≥ 8: all).
LAUREL_AVX2 inline __m256i lanes(int64_t n) {
  const int k = n < 0 ? 0 : n > 8 ? 8 : static_cast<int>(n);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(k), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// 8 floats at p, or the first n of them (the rest 0) where n < 8: never a read past p + n.
LAUREL_AVX2 inline __m256 load(const float* p, int64_t n) {
  return n >= 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, lanes(n));
}

LAUREL_AVX2 inline void store(float* p, int64_t n, __m256 v) {
  if (n >= 8)
    _mm256_storeu_ps(p, v);
  else
    _mm256_maskstore_ps(p, lanes(n), v);
}

LAUREL_AVX2 inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_hadd_ps(s, s);
  return _mm_cvtss_f32(_mm_hadd_ps(s, s));
}

// R rows × one packed 16-column block of C (NV ymm: 2, or 1 where the block holds ≤ 8 of N's columns), w of its
// columns real: c[i, :w] = Σ_k a[i, k] · bb[k, :w] for i < R, bb the block (bb[k, j] at bb + 16k + j), then the
// epilogue (e.f moved to this tile) and the store, masked past w.
template <int R, int NV>
LAUREL_AVX2 void tall_micro(const float* a, int64_t lda, const float* bb, int64_t K, float* c, int64_t ldc, int64_t w,
                            const TallEpilogue& e) {
  __m256 acc[R][NV];
#pragma GCC unroll 8
  for (int i = 0; i < R; i++)
#pragma GCC unroll 2
    for (int j = 0; j < NV; j++) acc[i][j] = _mm256_setzero_ps();
  for (int64_t k = 0; k < K; k++) {
    __m256 b[NV];
#pragma GCC unroll 2
    for (int j = 0; j < NV; j++) b[j] = _mm256_loadu_ps(bb + k * 16 + 8 * j);
#pragma GCC unroll 8
    for (int i = 0; i < R; i++) {
      const __m256 v = _mm256_broadcast_ss(a + i * lda + k);
#pragma GCC unroll 2
      for (int j = 0; j < NV; j++) acc[i][j] = _mm256_fmadd_ps(v, b[j], acc[i][j]);
    }
  }
  const __m256 va = _mm256_set1_ps(e.alpha), zero = _mm256_setzero_ps();
#pragma GCC unroll 2
  for (int j = 0; j < NV; j++) {
    const int64_t n = w - 8 * j;
#pragma GCC unroll 8
    for (int i = 0; i < R; i++) {
      __m256 v = acc[i][j];
      if (e.f) {  // α·f + the product, then ReLU (NaN passing: only v < 0 becomes 0)
        v = _mm256_fmadd_ps(va, load(e.f + i * ldc + 8 * j, n), v);
        if (e.relu) v = _mm256_blendv_ps(v, zero, _mm256_cmp_ps(v, zero, _CMP_LT_OQ));
      }
      store(c + i * ldc + 8 * j, n, v);
    }
  }
}

// All rows of one block: tiles of kRows, then the remainder one tile.
template <int NV>
LAUREL_AVX2 void tall_block(int64_t rows, int64_t K, const float* A, int64_t lda, const float* bb, float* C,
                            int64_t ldc, int64_t w, const TallEpilogue& e) {
  int64_t r = 0;
  for (; r + kRows <= rows; r += kRows)
    tall_micro<kRows, NV>(A + r * lda, lda, bb, K, C + r * ldc, ldc, w, e.at(r * ldc));
  const float* a = A + r * lda;
  float* c = C + r * ldc;
  const TallEpilogue er = e.at(r * ldc);
  switch (rows - r) {
    case 5: tall_micro<5, NV>(a, lda, bb, K, c, ldc, w, er); break;
    case 4: tall_micro<4, NV>(a, lda, bb, K, c, ldc, w, er); break;
    case 3: tall_micro<3, NV>(a, lda, bb, K, c, ldc, w, er); break;
    case 2: tall_micro<2, NV>(a, lda, bb, K, c, ldc, w, er); break;
    case 1: tall_micro<1, NV>(a, lda, bb, K, c, ldc, w, er); break;
    default: break;
  }
}

// I values of the short dimension × one 16-column block of C (NV ymm, w columns real), summed over l < L:
// c[i, :w] += Σ_l a[l, i] · b[l, :w]. Tail: the block's last ymm is partial (its loads masked, never past w).
template <int I, int NV, bool Tail>
LAUREL_AVX2 void deep_micro(const float* a, int64_t lda, const float* b, int64_t ldb, int64_t L, float* c,
                            int64_t ldc, int64_t w) {
  const int64_t nLast = w - 8 * (NV - 1);
  const __m256i mLast = lanes(nLast);
  __m256 acc[I][NV];
#pragma GCC unroll 8
  for (int i = 0; i < I; i++)
#pragma GCC unroll 2
    for (int j = 0; j < NV; j++) acc[i][j] = load(c + i * ldc + 8 * j, w - 8 * j);
  for (int64_t l = 0; l < L; l++) {
    __m256 bl[NV];
#pragma GCC unroll 2
    for (int j = 0; j < NV; j++)
      bl[j] = Tail && j == NV - 1 ? _mm256_maskload_ps(b + l * ldb + 8 * j, mLast) : _mm256_loadu_ps(b + l * ldb + 8 * j);
#pragma GCC unroll 8
    for (int i = 0; i < I; i++) {
      const __m256 ai = _mm256_broadcast_ss(a + l * lda + i);
#pragma GCC unroll 2
      for (int j = 0; j < NV; j++) acc[i][j] = _mm256_fmadd_ps(ai, bl[j], acc[i][j]);
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < I; i++)
#pragma GCC unroll 2
    for (int j = 0; j < NV; j++) store(c + i * ldc + 8 * j, w - 8 * j, acc[i][j]);
}

// All M values of the short dimension for one block: tiles of kRows, then the remainder one tile.
template <int NV, bool Tail>
LAUREL_AVX2 void deep_block(int64_t M, int64_t L, const float* a, int64_t lda, const float* b, int64_t ldb, float* c,
                            int64_t ldc, int64_t w) {
  int64_t i = 0;
  for (; i + kRows <= M; i += kRows) deep_micro<kRows, NV, Tail>(a + i, lda, b, ldb, L, c + i * ldc, ldc, w);
  switch (M - i) {
    case 5: deep_micro<5, NV, Tail>(a + i, lda, b, ldb, L, c + i * ldc, ldc, w); break;
    case 4: deep_micro<4, NV, Tail>(a + i, lda, b, ldb, L, c + i * ldc, ldc, w); break;
    case 3: deep_micro<3, NV, Tail>(a + i, lda, b, ldb, L, c + i * ldc, ldc, w); break;
    case 2: deep_micro<2, NV, Tail>(a + i, lda, b, ldb, L, c + i * ldc, ldc, w); break;
    case 1: deep_micro<1, NV, Tail>(a + i, lda, b, ldb, L, c + i * ldc, ldc, w); break;
    default: break;
  }
}

}  // namespace

bool available() {
  static const bool cpu = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return cpu;
}

LAUREL_AVX2 void tall_product(int64_t rows, int64_t N, int64_t K, const float* A, int64_t lda, const float* bp,
                              float* C, const TallEpilogue& e) {
  for (int64_t col = 0; col < N; col += 16) {
    const int64_t w = N - col < 16 ? N - col : 16;
    const float* bb = bp + col * K;  // block col / 16 starts at 16·K·(col / 16)
    if (w > 8)
      tall_block<2>(rows, K, A, lda, bb, C + col, N, w, e.at(col));
    else
      tall_block<1>(rows, K, A, lda, bb, C + col, N, w, e.at(col));
  }
}

LAUREL_AVX2 void deep_rows(int64_t M, int64_t N, int64_t L, const float* A, int64_t lda, const float* B, int64_t ldb,
                           float* C) {
  for (int64_t l0 = 0; l0 < L; l0 += kChunk) {
    const int64_t len = L - l0 < kChunk ? L - l0 : kChunk;
    for (int64_t col = 0; col < N; col += 16) {
      const int64_t w = N - col < 16 ? N - col : 16;
      const float* a = A + l0 * lda;
      const float* b = B + l0 * ldb + col;
      if (w == 16)
        deep_block<2, false>(M, len, a, lda, b, ldb, C + col, N, w);
      else if (w > 8)
        deep_block<2, true>(M, len, a, lda, b, ldb, C + col, N, w);
      else if (w == 8)
        deep_block<1, false>(M, len, a, lda, b, ldb, C + col, N, w);
      else
        deep_block<1, true>(M, len, a, lda, b, ldb, C + col, N, w);
    }
  }
}

LAUREL_AVX2 float scale_mask_dot(int64_t n, const float* dy, const float* y, const float* f, float a, float* gm,
                                 float* df) {
  const __m256 va = _mm256_set1_ps(a);
  __m256 acc = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 g = _mm256_loadu_ps(dy + i);
    if (y) {
      g = relu_grad8(g, _mm256_loadu_ps(y + i));
      _mm256_storeu_ps(gm + i, g);
    }
    _mm256_storeu_ps(df + i, _mm256_mul_ps(va, g));
    acc = _mm256_fmadd_ps(g, _mm256_loadu_ps(f + i), acc);
  }
  float s = hsum(acc);
  for (; i < n; i++) {
    float g = dy[i];
    if (y) {
      g = relu_grad(g, y[i]);
      gm[i] = g;
    }
    df[i] = a * g;
    s += g * f[i];
  }
  return s;
}

}  // namespace laurel::avx2
#endif
