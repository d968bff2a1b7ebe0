// Shared helpers for the laurel native addon: argument access and the thread pool interface.
#pragma once
#include <napi.h>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#if defined(LAUREL_ACCELERATE)
// Apple's Accelerate sizes its own threads: nothing to set (the macOS build without Homebrew's OpenBLAS).
inline void openblas_set_num_threads(int) {}
#else
extern "C" void openblas_set_num_threads(int);
#endif

namespace laurel {

// Thread pool shared by all of our kernels. OpenBLAS gets the same thread count (see setNumThreads).
// n is capped to [1, pool_max_threads()]; fewer threads run when the system refuses to start more (pool_threads
// says how many).
void pool_set_threads(int n);
int pool_threads();
// The most threads the pool takes: max(64, 4 × the cores), far beyond any speed-up, far below a count that
// exhausts the system (setNumThreads(100000) used to abort the process).
int pool_max_threads();
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

// ---- Arguments: every entry point checks them before it reads or writes memory ----------------------------
// A wrong count, type, length or size throws ArgError; the wrapper def() registers each entry point with turns
// it (and std::bad_alloc) into one JavaScript Error, "laurel native <name>: <what>", so that no call from
// JavaScript can touch memory outside the arrays it passes or abort the process.
struct ArgError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
[[noreturn]] inline void arg_fail(const std::string& what) { throw ArgError(what); }
// "argument 3" for info[2] (counted from 1, as a reader of the call counts).
inline std::string arg_name(size_t i) { return "argument " + std::to_string(i + 1); }

using Entry = Napi::Value (*)(const Napi::CallbackInfo&);
// Registers fn as exports[name], called with min_args to max_args arguments (max_args < 0: exactly min_args).
inline void def(Napi::Env env, Napi::Object exports, const char* name, Entry fn, size_t min_args,
                int max_args = -1) {
  const size_t hi = max_args < 0 ? min_args : static_cast<size_t>(max_args);
  auto call = [name, fn, min_args, hi](const Napi::CallbackInfo& info) -> Napi::Value {
    std::string err;
    try {
      if (info.Length() < min_args || info.Length() > hi)
        arg_fail("expected " + (min_args == hi ? std::to_string(min_args)
                                               : std::to_string(min_args) + " to " + std::to_string(hi)) +
                 " arguments, got " + std::to_string(info.Length()));
      return fn(info);
    } catch (const std::bad_alloc&) {
      err = "out of memory";
    } catch (const std::exception& e) {
      err = e.what();
    }
    Napi::Error::New(info.Env(), std::string("laurel native ") + name + ": " + err).ThrowAsJavaScriptException();
    return info.Env().Undefined();
  };
  exports.Set(name, Napi::Function::New(env, call, name));
}

// A typed array argument: its data (zero-copy) and length in elements; converts to T* for the kernels.
template <class T>
struct Arr {
  T* p = nullptr;
  int64_t n = 0;
  std::shared_ptr<std::vector<T>> copy;  // where p points when the argument had to be copied (see i32)
  operator T*() const { return p; }  // NOLINT: kernels take plain pointers (null for a missing optional array)
};

// copy_shared: an array over a SharedArrayBuffer is read once, into a copy (see i32).
template <class T>
Arr<T> typed(const Napi::CallbackInfo& info, size_t i, napi_typedarray_type want, const char* kind, bool optional,
             bool copy_shared = false) {
  Arr<T> a;
  const Napi::Value v = info[i];
  if (optional && (v.IsNull() || v.IsUndefined())) return a;
  napi_typedarray_type t;
  size_t len = 0;
  void* data = nullptr;
  napi_value ab;
  size_t off;
  if (!v.IsTypedArray() || napi_get_typedarray_info(info.Env(), v, &t, &len, &data, &ab, &off) != napi_ok ||
      t != want)
    arg_fail(arg_name(i) + " must be " + kind + (optional ? " or null" : ""));
  a.p = static_cast<T*>(data);
  a.n = static_cast<int64_t>(len);
  if (copy_shared && !Napi::Value(info.Env(), ab).IsArrayBuffer()) {
    a.copy = std::make_shared<std::vector<T>>(a.p, a.p + a.n);
    a.p = a.copy->data();
  }
  return a;
}
inline Arr<float> f32(const Napi::CallbackInfo& info, size_t i) {
  return typed<float>(info, i, napi_float32_array, "a Float32Array", false);
}
// A Float32Array or null / undefined (then p is null and n is 0).
inline Arr<float> f32_opt(const Napi::CallbackInfo& info, size_t i) {
  return typed<float>(info, i, napi_float32_array, "a Float32Array", true);
}
// Int32 arguments are indices, shapes, strides and offsets: checked, then used to address memory. An Int32Array
// over a SharedArrayBuffer can change between the two (another JS thread writes it), so it is read once, into a
// copy; an ordinary ArrayBuffer cannot change during the call.
inline Arr<int32_t> i32(const Napi::CallbackInfo& info, size_t i) {
  return typed<int32_t>(info, i, napi_int32_array, "an Int32Array", false, true);
}

// A number argument (any value, NaN included: coefficients and epsilons pass through to the arithmetic).
inline double dbl(const Napi::CallbackInfo& info, size_t i) {
  double v = 0;
  if (napi_get_value_double(info.Env(), info[i], &v) != napi_ok)
    arg_fail(arg_name(i) + " must be a number");
  return v;
}
// An integer argument in [lo, hi].
inline int64_t int_arg(const Napi::CallbackInfo& info, size_t i, int64_t lo, int64_t hi) {
  const double v = dbl(info, i);
  if (!(v >= static_cast<double>(lo) && v <= static_cast<double>(hi)) || v != static_cast<double>(static_cast<int64_t>(v)))
    arg_fail(arg_name(i) + " must be an integer in [" + std::to_string(lo) + ", " +
             std::to_string(hi) + "], got " + Napi::Number::New(info.Env(), v).ToString().Utf8Value());
  return static_cast<int64_t>(v);
}
// A size or count: an integer in [0, 2³¹ − 1] (what OpenBLAS's int arguments hold).
constexpr int64_t kMaxDim = 2147483647;
inline int64_t dim_arg(const Napi::CallbackInfo& info, size_t i) { return int_arg(info, i, 0, kMaxDim); }
inline bool flag(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsBoolean()) arg_fail(arg_name(i) + " must be a boolean");
  return info[i].As<Napi::Boolean>().Value();
}

// a · b, throwing when the product of two sizes overflows (or is negative).
inline int64_t mul(int64_t a, int64_t b) {
  int64_t r;
  if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &r)) arg_fail("sizes are negative or their product overflows");
  return r;
}
inline int64_t prod(std::initializer_list<int64_t> xs) {
  int64_t r = 1;
  for (int64_t x : xs) r = mul(r, x);
  return r;
}
// The array a must hold at least n elements.
template <class T>
void need(const Arr<T>& a, int64_t n, const char* what) {
  if (a.n < n)
    arg_fail(std::string(what) + " has " + std::to_string(a.n) + " elements, needs " + std::to_string(n));
}
// need for each (array, name) pair.
inline void need_each(int64_t n, std::initializer_list<std::pair<Arr<float>, const char*>> arrays) {
  for (const auto& [a, what] : arrays) need(a, n, what);
}
// As need, for an optional array (nothing to check when it is null).
template <class T>
void need_opt(const Arr<T>& a, int64_t n, const char* what) {
  if (a) need(a, n, what);
}
// A shape argument: an Int32Array of rank in [1, max_rank], every size ≥ 0; returns the element count.
inline int64_t shape_size(const Arr<int32_t>& shape, int max_rank, const char* what) {
  if (shape.n < 1 || shape.n > max_rank)
    arg_fail(std::string(what) + " must have 1 to " + std::to_string(max_rank) + " dimensions, got " +
             std::to_string(shape.n));
  int64_t total = 1;
  for (int64_t d = 0; d < shape.n; d++) {
    if (shape[d] < 0) arg_fail(std::string(what) + " has a negative size");
    total = mul(total, shape[d]);
  }
  return total;
}
// Elements [off + Σ i_d·stride_d] for 0 ≤ i_d < shape_d must lie in [0, len) (nothing to check when any size is
// 0); strides has at least as many entries as shape.
inline void check_span(const Arr<int32_t>& shape, const Arr<int32_t>& strides, int64_t off, int64_t len,
                       const char* what) {
  if (strides.n < shape.n) arg_fail(std::string(what) + ": fewer strides than dimensions");
  int64_t lo = off, hi = off;
  for (int64_t d = 0; d < shape.n; d++) {
    if (shape[d] == 0) return;
    const int64_t st = strides[d], reach = mul(shape[d] - 1, st < 0 ? -st : st);
    if (__builtin_add_overflow(st < 0 ? lo : hi, st < 0 ? -reach : reach, st < 0 ? &lo : &hi))
      arg_fail(std::string(what) + ": offsets overflow");
  }
  if (lo < 0 || hi >= len)
    arg_fail(std::string(what) + " reaches elements " + std::to_string(lo) + " to " + std::to_string(hi) +
             " of an array of " + std::to_string(len));
}

// Skinny GEMM micro-kernels (skinny.cc: AVX-512 or AVX2 on x86-64; skinny_available() says whether they may be
// called).
bool skinny_available();
// The largest M·N for which the deep kernel beats OpenBLAS: 64·64 with AVX-512; 32·64 with AVX2 (its 64×64
// ran 1.3× OpenBLAS's time, bench/gemm.ts's skinny cases).
int64_t skinny_deep_max_mn();
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
