// The ReLU's gradient as tfjs computes it (dy·step(y)), for the kernels that fuse a ReLU into their backward
// pass: dy where y > 0; dy·0 where y ≤ 0, so NaN for an infinite or NaN dy; NaN where y is NaN. A select
// (y > 0 ? dy : 0) would turn those NaNs into 0 and hide a diverging run that tfjs's cpu backend shows.
#pragma once

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace laurel {

inline float relu_grad(float dy, float y) { return dy * (y > 0.0f ? 1.0f : (y == y ? 0.0f : y)); }

#if defined(__x86_64__)
// step(y) is 1 where y > 0, y itself where y is NaN (unordered), 0 elsewhere.
__attribute__((target("avx2"))) inline __m256 relu_grad8(__m256 dy, __m256 y) {
  const __m256 positive = _mm256_cmp_ps(y, _mm256_setzero_ps(), _CMP_GT_OQ);
  const __m256 nan = _mm256_cmp_ps(y, y, _CMP_UNORD_Q);
  const __m256 step = _mm256_or_ps(_mm256_and_ps(positive, _mm256_set1_ps(1.0f)), _mm256_and_ps(nan, y));
  return _mm256_mul_ps(dy, step);
}

__attribute__((target("avx512f"))) inline __m512 relu_grad16(__m512 dy, __m512 y) {
  const __mmask16 positive = _mm512_cmp_ps_mask(y, _mm512_setzero_ps(), _CMP_GT_OQ);
  const __mmask16 nan = _mm512_cmp_ps_mask(y, y, _CMP_UNORD_Q);
  const __m512 step = _mm512_mask_mov_ps(_mm512_maskz_mov_ps(nan, y), positive, _mm512_set1_ps(1.0f));
  return _mm512_mul_ps(dy, step);
}
#endif

}  // namespace laurel
