// Shared helpers for the laurel native addon: argument access and the thread pool interface.
#pragma once
#include <napi.h>

#include <cstdint>
#include <functional>

namespace laurel {

// Thread pool shared by all of our kernels. OpenBLAS gets the same thread count (see setNumThreads).
void pool_set_threads(int n);
int pool_threads();
// Runs fn(begin, end) over [0, n) split into contiguous chunks; serial when n < 2 * grain or one thread.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

inline float* f32(const Napi::CallbackInfo& info, size_t i) {
  napi_typedarray_type t;
  size_t len;
  void* data;
  napi_value ab;
  size_t off;
  napi_get_typedarray_info(info.Env(), info[i], &t, &len, &data, &ab, &off);
  return static_cast<float*>(data);
}
inline int32_t* i32(const Napi::CallbackInfo& info, size_t i) {
  napi_typedarray_type t;
  size_t len;
  void* data;
  napi_value ab;
  size_t off;
  napi_get_typedarray_info(info.Env(), info[i], &t, &len, &data, &ab, &off);
  return static_cast<int32_t*>(data);
}
inline size_t tlen(const Napi::CallbackInfo& info, size_t i) {
  napi_typedarray_type t;
  size_t len;
  void* data;
  napi_value ab;
  size_t off;
  napi_get_typedarray_info(info.Env(), info[i], &t, &len, &data, &ab, &off);
  return len;
}
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

void register_elementwise(Napi::Env env, Napi::Object exports);
void register_conv(Napi::Env env, Napi::Object exports);

}  // namespace laurel
