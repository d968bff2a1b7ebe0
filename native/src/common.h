// Shared helpers for the laurel native addon: argument access and the thread pool interface.
#pragma once
#include <napi.h>

#include <cstdint>
#include <functional>

extern "C" void openblas_set_num_threads(int);

namespace laurel {

// Thread pool shared by all of our kernels. OpenBLAS gets the same thread count (see setNumThreads).
void pool_set_threads(int n);
int pool_threads();
// Runs fn(begin, end) over [0, n) split into one contiguous chunk per thread (rounded to multiples of 16 when
// longer than 16); serial when n < 2 * grain or one thread.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

// Runs fn(tid) for tid in [0, nt) on our threads (one each), for kernels of our own (no OpenBLAS inside).
template <class F>
void on_threads(int nt, F&& fn) {
  if (nt <= 1) {
    fn(0);
    return;
  }
  parallel_for(nt, 1, [&](int64_t s, int64_t e) {
    for (int64_t t = s; t < e; t++) fn(static_cast<int>(t));
  });
}

// As on_threads, with OpenBLAS single-threaded meanwhile, so that each tid can call a single-threaded sgemm on
// its own share (no OpenBLAS threads competing with ours). Only for shares that call OpenBLAS: resetting its
// thread count wakes its threads, which then spin and slow the next kernel of ours.
template <class F>
void for_threads(int nt, F&& fn) {
  if (nt <= 1) {
    fn(0);
    return;
  }
  openblas_set_num_threads(1);
  // One item per tid (serially, in a nested call, one chunk covers every tid).
  parallel_for(nt, 1, [&](int64_t s, int64_t e) {
    for (int64_t t = s; t < e; t++) fn(static_cast<int>(t));
  });
  openblas_set_num_threads(pool_threads());
}

// Argument i as a typed array: its data pointer (zero-copy) and its length in elements.
struct TypedArg {
  void* data;
  size_t length;
};
inline TypedArg typed_arg(const Napi::CallbackInfo& info, size_t i) {
  napi_typedarray_type t;
  TypedArg a{nullptr, 0};
  napi_value ab;
  size_t off;
  napi_get_typedarray_info(info.Env(), info[i], &t, &a.length, &a.data, &ab, &off);
  return a;
}
inline float* f32(const Napi::CallbackInfo& info, size_t i) {
  return static_cast<float*>(typed_arg(info, i).data);
}
inline int32_t* i32(const Napi::CallbackInfo& info, size_t i) {
  return static_cast<int32_t*>(typed_arg(info, i).data);
}
inline size_t tlen(const Napi::CallbackInfo& info, size_t i) { return typed_arg(info, i).length; }
inline int64_t num(const Napi::CallbackInfo& info, size_t i) {
  int64_t v = 0;
  napi_get_value_int64(info.Env(), info[i], &v);
  return v;
}
inline double dbl(const Napi::CallbackInfo& info, size_t i) {
  double v = 0;
  napi_get_value_double(info.Env(), info[i], &v);
  return v;
}

// Skinny GEMM micro-kernels (skinny.cc, AVX-512 only: skinny_available() says whether they may be called).
bool skinny_available();
// bp = op(B) [K, N] repacked into 16-column blocks (size 16 · K · ceil(N / 16)), zero past N.
void skinny_pack_b(bool tb, int64_t K, int64_t N, const float* B, int64_t ldb, float* bp);
// C[rows, N] = A[rows, K] · op(B), with op(B) packed by skinny_pack_b; N ≤ 64 keeps it in registers.
void skinny_tall(int64_t rows, int64_t N, int64_t K, const float* A, int64_t lda, const float* bp, float* C);
// C[M, N] = A[L, M]ᵀ · B[L, N] (both row-major over L), M and N ≤ 64.
void skinny_deep(int64_t M, int64_t N, int64_t L, const float* A, int64_t lda, const float* B, int64_t ldb,
                 float* C);

void register_elementwise(Napi::Env env, Napi::Object exports);
void register_conv(Napi::Env env, Napi::Object exports);
void register_skinny(Napi::Env env, Napi::Object exports);

}  // namespace laurel
