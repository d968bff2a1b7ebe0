// Skinny GEMMs with AVX-512 micro-kernels: the 1×1 projections of LAUREL's low-rank path on [rows, C] maps,
// where OpenBLAS reaches ~14 GFLOP/s on one core because its kernels are built for large square tiles.
//  - tall:  C[rows, N] = A[rows, K] · B[K, N]       (N ≤ 64; B is repacked into 16-column blocks, any layout)
//  - deep:  C[M, N]   += A[L, M]ᵀ · B[L, N] over L  (M, N ≤ 64; A and B row-major over the long dimension L)
// Both keep a tile of C in zmm registers and stream the long dimension through it once.
#include <immintrin.h>

#include <cstdint>

#include "common.h"

namespace laurel {
namespace {

#define LAUREL_AVX512 __attribute__((target("avx512f")))

inline __mmask16 mask_of(int64_t width) {
  if (width <= 0) return 0;
  return width >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << width) - 1u);
}

// R rows × 16 columns: c[i, 0:w] = Σ_k a[i, k] · bp[k, 0:16] for i < R (bp zero-padded past N).
template <int R>
LAUREL_AVX512 void tall_micro(const float* a, int64_t lda, const float* bp, int64_t K, float* c, int64_t ldc,
                              __mmask16 m) {
  __m512 acc[R];
  for (int i = 0; i < R; i++) acc[i] = _mm512_setzero_ps();
  for (int64_t k = 0; k < K; k++) {
    const __m512 b = _mm512_loadu_ps(bp + k * 16);
    for (int i = 0; i < R; i++) acc[i] = _mm512_fmadd_ps(_mm512_set1_ps(a[i * lda + k]), b, acc[i]);
  }
  for (int i = 0; i < R; i++) _mm512_mask_storeu_ps(c + i * ldc, m, acc[i]);
}

// I values of the short dimension × 32 columns (two zmm), summed over l in [0, L):
// c[i, 0:32] += Σ_l a[l, i] · b[l, 0:32] (columns past N masked).
template <int I>
LAUREL_AVX512 void deep_micro(const float* a, int64_t lda, const float* b, int64_t ldb, int64_t L, float* c,
                              int64_t ldc, __mmask16 m0, __mmask16 m1) {
  __m512 acc0[I], acc1[I];
  for (int i = 0; i < I; i++) {
    acc0[i] = _mm512_maskz_loadu_ps(m0, c + i * ldc);
    acc1[i] = _mm512_maskz_loadu_ps(m1, c + i * ldc + 16);
  }
  for (int64_t l = 0; l < L; l++) {
    const __m512 b0 = _mm512_maskz_loadu_ps(m0, b + l * ldb);
    const __m512 b1 = _mm512_maskz_loadu_ps(m1, b + l * ldb + 16);
    for (int i = 0; i < I; i++) {
      const __m512 ai = _mm512_set1_ps(a[l * lda + i]);
      acc0[i] = _mm512_fmadd_ps(ai, b0, acc0[i]);
      acc1[i] = _mm512_fmadd_ps(ai, b1, acc1[i]);
    }
  }
  for (int i = 0; i < I; i++) {
    _mm512_mask_storeu_ps(c + i * ldc, m0, acc0[i]);
    _mm512_mask_storeu_ps(c + i * ldc + 16, m1, acc1[i]);
  }
}

template <int R>
void tall_rows(const float* a, int64_t lda, const float* bp, int64_t K, int64_t N, float* c) {
  for (int64_t nb = 0; nb * 16 < N; nb++)
    tall_micro<R>(a, lda, bp + nb * K * 16, K, c + nb * 16, N, mask_of(N - nb * 16));
}

template <int I>
void deep_cols(const float* a, int64_t lda, const float* b, int64_t ldb, int64_t L, int64_t N, float* c) {
  for (int64_t nb = 0; nb * 32 < N; nb++)
    deep_micro<I>(a, lda, b + nb * 32, ldb, L, c + nb * 32, N, mask_of(N - nb * 32), mask_of(N - nb * 32 - 16));
}

constexpr int kRows = 8;      // rows per tall micro-tile (8 accumulators: FMA latency × throughput)
constexpr int kDeepI = 8;     // short-dimension values per deep micro-tile (16 accumulators)
constexpr int64_t kChunk = 256;  // long-dimension rows per deep pass (a chunk of A and B stays in L1/L2)

}  // namespace

bool skinny_available() {
  static const bool cpu = __builtin_cpu_supports("avx512f");
  return cpu;
}

void skinny_pack_b(bool tb, int64_t K, int64_t N, const float* B, int64_t ldb, float* bp) {
  // bp[nb][k][0:16] = op(B)[k, 16nb : 16nb + 16], zero past N.
  for (int64_t nb = 0; nb * 16 < N; nb++)
    for (int64_t k = 0; k < K; k++)
      for (int64_t j = 0; j < 16; j++) {
        int64_t n = nb * 16 + j;
        bp[(nb * K + k) * 16 + j] = n < N ? (tb ? B[n * ldb + k] : B[k * ldb + n]) : 0.0f;
      }
}

void skinny_tall(int64_t rows, int64_t N, int64_t K, const float* A, int64_t lda, const float* bp, float* C) {
  int64_t r = 0;
  for (; r + kRows <= rows; r += kRows) tall_rows<kRows>(A + r * lda, lda, bp, K, N, C + r * N);
  const float* a = A + r * lda;
  float* c = C + r * N;
  switch (rows - r) {
    case 7: tall_rows<7>(a, lda, bp, K, N, c); break;
    case 6: tall_rows<6>(a, lda, bp, K, N, c); break;
    case 5: tall_rows<5>(a, lda, bp, K, N, c); break;
    case 4: tall_rows<4>(a, lda, bp, K, N, c); break;
    case 3: tall_rows<3>(a, lda, bp, K, N, c); break;
    case 2: tall_rows<2>(a, lda, bp, K, N, c); break;
    case 1: tall_rows<1>(a, lda, bp, K, N, c); break;
    default: break;
  }
}

void skinny_deep(int64_t M, int64_t N, int64_t L, const float* A, int64_t lda, const float* B, int64_t ldb,
                 float* C) {
  for (int64_t i = 0; i < M * N; i++) C[i] = 0.0f;
  for (int64_t l0 = 0; l0 < L; l0 += kChunk) {
    const int64_t len = L - l0 < kChunk ? L - l0 : kChunk;
    const float* a = A + l0 * lda;
    const float* b = B + l0 * ldb;
    int64_t i = 0;
    for (; i + kDeepI <= M; i += kDeepI) deep_cols<kDeepI>(a + i, lda, b, ldb, len, N, C + i * N);
    switch (M - i) {
      case 7: deep_cols<7>(a + i, lda, b, ldb, len, N, C + i * N); break;
      case 6: deep_cols<6>(a + i, lda, b, ldb, len, N, C + i * N); break;
      case 5: deep_cols<5>(a + i, lda, b, ldb, len, N, C + i * N); break;
      case 4: deep_cols<4>(a + i, lda, b, ldb, len, N, C + i * N); break;
      case 3: deep_cols<3>(a + i, lda, b, ldb, len, N, C + i * N); break;
      case 2: deep_cols<2>(a + i, lda, b, ldb, len, N, C + i * N); break;
      case 1: deep_cols<1>(a + i, lda, b, ldb, len, N, C + i * N); break;
      default: break;
    }
  }
}

}  // namespace laurel
