// What skinny.cc (AVX-512) and skinny_avx2.cc (AVX2 + FMA) share: the products behind the skinny GEMMs and the
// RW+LR row kernels, one set per instruction set, with the same contracts. skinny.cc picks one set at run time.
#pragma once

#include <cstdint>

namespace laurel {

// Epilogue of the tall product (the LAUREL combine's forward): c = α·f + (the product), then ReLU where relu.
struct TallEpilogue {
  const float* f = nullptr;  // [rows, N] like c; null: plain product
  float alpha = 1.0f;
  bool relu = false;

  // The same epilogue for the part of c that starts `offset` elements in (f moved with it).
  TallEpilogue at(int64_t offset) const {
    TallEpilogue e = *this;
    if (e.f) e.f += offset;
    return e;
  }
};

// Long-dimension rows per deep pass, and rows per chunk of the row kernels (a chunk stays in L1/L2).
constexpr int64_t kChunk = 256;

#if defined(__x86_64__)
namespace avx2 {
// Whether this CPU runs the functions below (AVX2 and FMA).
bool available();
// C[rows, N] = A[rows, K] · op(B), op(B) packed by skinny_pack_b; N ≤ 64. The epilogue e is applied before the store.
void tall_product(int64_t rows, int64_t N, int64_t K, const float* A, int64_t lda, const float* bp, float* C,
                  const TallEpilogue& e);
// C[M, N] += A[L, M]ᵀ · B[L, N] (both row-major over L), M and N ≤ 64.
void deep_rows(int64_t M, int64_t N, int64_t L, const float* A, int64_t lda, const float* B, int64_t ldb, float* C);
// Over n values: g = relu_grad(dy, y) (relu_grad.h) written to gm (y given) or g = dy (y null); df = α·g; returns Σ g·f.
float scale_mask_dot(int64_t n, const float* dy, const float* y, const float* f, float a, float* gm, float* df);
}  // namespace avx2
#endif

}  // namespace laurel
