// laurel native addon: GEMM through OpenBLAS and thread settings. Other kernels live in elementwise.cc and
// conv.cc. Every entry point works in place on Float32Array storage handed over from JavaScript (zero-copy).
#include <cblas.h>

#include "common.h"

extern "C" void openblas_set_num_threads(int);

namespace laurel {
namespace {

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  int n = static_cast<int>(num(info, 0));
  if (n < 1) n = 1;
  openblas_set_num_threads(n);
  pool_set_threads(n);
  return info.Env().Undefined();
}

Napi::Value GetNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), pool_threads());
}

// gemm(transA, transB, M, N, K, alpha, A, B, beta, C): C[M,N] = alpha * op(A) op(B) + beta * C, row-major.
// This is the direct OpenBLAS entry used as the benchmark reference.
Napi::Value Gemm(const Napi::CallbackInfo& info) {
  bool ta = info[0].As<Napi::Boolean>().Value();
  bool tb = info[1].As<Napi::Boolean>().Value();
  int M = num(info, 2), N = num(info, 3), K = num(info, 4);
  float alpha = dbl(info, 5);
  float* A = f32(info, 6);
  float* B = f32(info, 7);
  float beta = dbl(info, 8);
  float* C = f32(info, 9);
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, alpha, A,
              ta ? M : K, B, tb ? K : N, beta, C, N);
  return info.Env().Undefined();
}

// batchGemm(transA, transB, M, N, K, A, B, C, aOffsets, bOffsets): for each batch i,
// C[i] = op(A + aOffsets[i]) op(B + bOffsets[i]); C is contiguous [batch, M, N].
Napi::Value BatchGemm(const Napi::CallbackInfo& info) {
  bool ta = info[0].As<Napi::Boolean>().Value();
  bool tb = info[1].As<Napi::Boolean>().Value();
  int M = num(info, 2), N = num(info, 3), K = num(info, 4);
  float* A = f32(info, 5);
  float* B = f32(info, 6);
  float* C = f32(info, 7);
  int32_t* ao = i32(info, 8);
  int32_t* bo = i32(info, 9);
  size_t batch = tlen(info, 8);
  // When B is shared by every batch and A is contiguous and not transposed, it is one big GEMM.
  bool shareB = true, contA = !ta;
  for (size_t i = 0; i < batch; i++) {
    if (bo[i] != bo[0]) shareB = false;
    if (ao[i] != ao[0] + static_cast<int64_t>(i) * M * K) contA = false;
  }
  if (batch > 1 && shareB && contA) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M * batch, N, K, 1.0f, A + ao[0], K,
                B + bo[0], tb ? K : N, 0.0f, C, N);
    return info.Env().Undefined();
  }
  auto one = [&](size_t i) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, 1.0f,
                A + ao[i], ta ? M : K, B + bo[i], tb ? K : N, 0.0f, C + static_cast<int64_t>(i) * M * N, N);
  };
  // Many small products (attention): one single-threaded GEMM per batch entry, the batch split over our
  // threads, instead of OpenBLAS synchronising its threads on every small call.
  bool parallelBatches = info.Length() > 10 && info[10].As<Napi::Boolean>().Value();
  int nt = pool_threads();
  if (parallelBatches && nt > 1 && batch >= static_cast<size_t>(2 * nt)) {
    openblas_set_num_threads(1);
    parallel_for(static_cast<int64_t>(batch), 1, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; i++) one(static_cast<size_t>(i));
    });
    openblas_set_num_threads(nt);
  } else {
    for (size_t i = 0; i < batch; i++) one(i);
  }
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads));
  exports.Set("getNumThreads", Napi::Function::New(env, GetNumThreads));
  exports.Set("gemm", Napi::Function::New(env, Gemm));
  exports.Set("batchGemm", Napi::Function::New(env, BatchGemm));
  register_elementwise(env, exports);
  register_conv(env, exports);
  return exports;
}

}  // namespace
}  // namespace laurel

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return laurel::Init(env, exports); }
NODE_API_MODULE(laurel_native, InitAddon)
