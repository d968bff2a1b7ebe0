// laurel native addon: GEMM through OpenBLAS and thread settings. Other kernels live in elementwise.cc and
// conv.cc. Every entry point works in place on Float32Array storage handed over from JavaScript (zero-copy).
#include <cblas.h>

#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "common.h"

namespace laurel {
namespace {

// setNumThreads(n): n in [1, pool_max_threads()]; returns the count started (fewer when the system refused).
Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  const int n = static_cast<int>(int_arg(info, 0, 1, pool_max_threads()));
  pool_set_threads(n);
  openblas_set_num_threads(pool_threads());
  return Napi::Number::New(info.Env(), pool_threads());
}

Napi::Value GetNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), pool_threads());
}

#if defined(LAUREL_ACCELERATE)
const char* openblas_get_corename() { return "Accelerate"; }
#else
extern "C" char* openblas_get_corename(void);
#endif

// blasCore(): the kernel set OpenBLAS chose when it loaded (see src/engine/blas-core.ts).
Napi::Value BlasCore(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), openblas_get_corename()); }

// poolProbe(n): how many distinct threads run the chunks of parallel_for(n, 1, …) (the tests check that n
// per-thread items, as the partial-sum kernels use, really go to n threads).
Napi::Value PoolProbe(const Napi::CallbackInfo& info) {
  const int64_t n = int_arg(info, 0, 0, 1 << 20);
  std::mutex mu;
  std::set<std::thread::id> ids;
  parallel_for(n, 1, [&](int64_t, int64_t) {
    std::lock_guard<std::mutex> l(mu);
    ids.insert(std::this_thread::get_id());
  });
  return Napi::Number::New(info.Env(), static_cast<double>(ids.size()));
}

// Skinny products, where OpenBLAS's own threads gain little and busy-wait on each other when the cores are
// shared: split the large dimension over our threads, one single-threaded sgemm per share (as conv.cc does).
//  - tall: N·K small, M large (x·W and dY·Wᵀ on [rows, C] maps): each thread takes a block of rows of C.
//  - deep: M·N small, K large (dW = Xᵀ·dY): each thread sums its K range into a partial [M, N]; partials added.
// Returns false (nothing done) for every other shape, which stays on the plain OpenBLAS call.
constexpr int64_t kSkinnyMaxSmall = 64 * 64;  // the two small dimensions' product
constexpr int64_t kSkinnyMinLarge = 1024;     // the large dimension

int skinny_threads(int64_t M, int64_t N, int64_t K) {
  int nt = pool_threads();
  double flops = 2.0 * M * N * K;
  while (nt > 1 && flops / nt < 2e6) nt--;  // ~2 MFLOP per thread at least, as conv.cc
  return nt;
}

// Our AVX-512 and AVX2 kernels (skinny.cc, skinny_avx2.cc) take the tall products with A row-major and N ≤ 64,
// and the deep ones Aᵀ·B with M, N ≤ 64 and M·N ≤ skinny_deep_max_mn() (the 1×1 projections and their
// gradients); OpenBLAS, single-threaded per share, the rest.
constexpr int64_t kOwnMaxSmall = 64;

bool skinny_gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B,
                 int64_t ldb, float* C) {
  const CBLAS_TRANSPOSE TA = ta ? CblasTrans : CblasNoTrans, TB = tb ? CblasTrans : CblasNoTrans;
  const bool tall = N * K <= kSkinnyMaxSmall && M >= kSkinnyMinLarge && M >= N && M >= K;
  const bool deep = !tall && M * N <= kSkinnyMaxSmall && K >= kSkinnyMinLarge && K >= M && K >= N;
  if (!tall && !deep) return false;
  const bool own = skinny_available() && (tall ? !ta && N <= kOwnMaxSmall
                                               : ta && !tb && M <= kOwnMaxSmall && N <= kOwnMaxSmall &&
                                                     M * N <= skinny_deep_max_mn());
  const int nt = skinny_threads(M, N, K);
  if (nt <= 1 && !own) return false;
  if (tall) {
    std::vector<float> bp;
    if (own) {
      bp.resize(static_cast<size_t>(16 * K * ((N + 15) / 16)));
      skinny_pack_b(tb, K, N, B, ldb, bp.data());
    }
    // Rows [r0, r1) of op(A): A + r0 * lda when A is [M, K]; columns of A (A + r0) when A is [K, M].
    auto share = [&](int tid) {
      int64_t r0 = M * tid / nt, r1 = M * (tid + 1) / nt;
      if (r1 <= r0) return;
      if (own)
        skinny_tall(r1 - r0, N, K, A + r0 * lda, lda, bp.data(), C + r0 * N);
      else
        cblas_sgemm(CblasRowMajor, TA, TB, r1 - r0, N, K, 1.0f, A + (ta ? r0 : r0 * lda), lda, B, ldb, 0.0f,
                    C + r0 * N, N);
    };
    if (own)
      on_threads(nt, share);
    else
      for_threads(nt, share);
    return true;
  }
  // deep: op(A)[:, k0:k1] is A + k0 ([M, K]) or A + k0 * lda ([K, M]); op(B)[k0:k1, :] is B + k0 * ldb ([K, N])
  // or B + k0 ([N, K]).
  const int64_t MN = M * N;
  std::vector<float> partial(static_cast<size_t>(nt - 1) * MN);
  auto share = [&](int tid) {
    float* acc = tid == 0 ? C : partial.data() + (tid - 1) * MN;
    int64_t k0 = K * tid / nt, k1 = K * (tid + 1) / nt;
    if (k1 <= k0) {
      for (int64_t i = 0; i < MN; i++) acc[i] = 0.0f;
      return;
    }
    if (own)
      skinny_deep(M, N, k1 - k0, A + k0 * lda, lda, B + k0 * ldb, ldb, acc);
    else
      cblas_sgemm(CblasRowMajor, TA, TB, M, N, k1 - k0, 1.0f, A + (ta ? k0 * lda : k0), lda,
                  B + (tb ? k0 : k0 * ldb), ldb, 0.0f, acc, N);
  };
  if (own)
    on_threads(nt, share);
  else
    for_threads(nt, share);
  for (int t = 1; t < nt; t++) {
    const float* s = partial.data() + (t - 1) * MN;
    for (int64_t i = 0; i < MN; i++) C[i] += s[i];
  }
  return true;
}

// A product with one row (M = 1: a decoding step's projections) or one column (N = 1) is a matrix-vector
// product: OpenBLAS's sgemv streams the matrix once, where its sgemm packs it first (3-5x slower at M = 1).
bool gemv_gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B,
               int64_t ldb, float* C) {
  if (M == 1) {  // C[N] = op(B)ᵀ·a, a = A's one row (stride lda when A is stored transposed, [K, 1])
    if (tb) cblas_sgemv(CblasRowMajor, CblasNoTrans, N, K, 1.0f, B, ldb, A, ta ? lda : 1, 0.0f, C, 1);
    else cblas_sgemv(CblasRowMajor, CblasTrans, K, N, 1.0f, B, ldb, A, ta ? lda : 1, 0.0f, C, 1);
    return true;
  }
  if (N == 1) {  // C[M] = op(A)·b, b = B's one column (stride ldb when B is stored [K, 1])
    if (ta) cblas_sgemv(CblasRowMajor, CblasTrans, K, M, 1.0f, A, lda, B, tb ? 1 : ldb, 0.0f, C, 1);
    else cblas_sgemv(CblasRowMajor, CblasNoTrans, M, K, 1.0f, A, lda, B, tb ? 1 : ldb, 0.0f, C, 1);
    return true;
  }
  return false;
}

// C[M, N] = op(A) op(B) (alpha 1, beta 0): a matrix-vector product, the skinny split above, or one OpenBLAS call.
void gemm_auto(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B,
               int64_t ldb, float* C) {
  if (gemv_gemm(ta, tb, M, N, K, A, lda, B, ldb, C)) return;
  if (skinny_gemm(ta, tb, M, N, K, A, lda, B, ldb, C)) return;
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, 1.0f, A, lda,
              B, ldb, 0.0f, C, N);
}

// gemm(transA, transB, M, N, K, alpha, A, B, beta, C): C[M,N] = alpha * op(A) op(B) + beta * C, row-major.
// This is the direct OpenBLAS entry used as the benchmark reference.
Napi::Value Gemm(const Napi::CallbackInfo& info) {
  const bool ta = flag(info, 0), tb = flag(info, 1);
  const int M = dim_arg(info, 2), N = dim_arg(info, 3), K = dim_arg(info, 4);
  float alpha = dbl(info, 5);
  const Arr<float> A = f32(info, 6), B = f32(info, 7), C = f32(info, 9);
  float beta = dbl(info, 8);
  need(A, mul(M, K), "A");
  need(B, mul(K, N), "B");
  need(C, mul(M, N), "C");
  if (M == 0 || N == 0) return info.Env().Undefined();
  if (K == 0) {  // no product: C = beta·C (OpenBLAS rejects a leading dimension of 0)
    for (int64_t i = 0; i < static_cast<int64_t>(M) * N; i++) C[i] = beta == 0.0f ? 0.0f : beta * C[i];
    return info.Env().Undefined();
  }
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, alpha, A,
              ta ? M : K, B, tb ? K : N, beta, C, N);
  return info.Env().Undefined();
}

// smallGemm(transA, transB, M, N, K, alpha, A, B, beta, C): as gemm, with each dot product summed in double.
// For the LAUREL kernels' D×r×D products (V·U, ∂L/∂V, ∂L/∂U): microseconds at these sizes, and the result no
// longer depends on which BLAS kernels the machine's OpenBLAS picked (their summation orders differed by
// ~3e-5 relative on the PyTorch fixtures).
Napi::Value SmallGemm(const Napi::CallbackInfo& info) {
  const bool ta = flag(info, 0), tb = flag(info, 1);
  const int64_t M = dim_arg(info, 2), N = dim_arg(info, 3), K = dim_arg(info, 4);
  const double alpha = dbl(info, 5), beta = dbl(info, 8);
  const Arr<float> A = f32(info, 6), B = f32(info, 7), C = f32(info, 9);
  need(A, mul(M, K), "A");
  need(B, mul(K, N), "B");
  need(C, mul(M, N), "C");
  // op(B) row-major in double once, then each row of C as Σ_k A(i, k)·op(B)[k, :] (contiguous inner loops).
  std::vector<double> b(static_cast<size_t>(K * N)), row(static_cast<size_t>(N));
  for (int64_t k = 0; k < K; k++)
    for (int64_t j = 0; j < N; j++) b[k * N + j] = tb ? B[j * K + k] : B[k * N + j];
  for (int64_t i = 0; i < M; i++) {
    std::fill(row.begin(), row.end(), 0.0);
    for (int64_t k = 0; k < K; k++) {
      const double a = ta ? A[k * M + i] : A[i * K + k];
      const double* bk = b.data() + k * N;
      for (int64_t j = 0; j < N; j++) row[j] += a * bk[j];
    }
    for (int64_t j = 0; j < N; j++)
      C[i * N + j] = static_cast<float>(alpha * row[j] + (beta == 0.0 ? 0.0 : beta * C[i * N + j]));
  }
  return info.Env().Undefined();
}

// batchGemm(transA, transB, M, N, K, A, B, C, aOffsets, bOffsets): for each batch i,
// C[i] = op(A + aOffsets[i]) op(B + bOffsets[i]); C is contiguous [batch, M, N].
Napi::Value BatchGemm(const Napi::CallbackInfo& info) {
  const bool ta = flag(info, 0), tb = flag(info, 1);
  const int M = dim_arg(info, 2), N = dim_arg(info, 3), K = dim_arg(info, 4);
  const Arr<float> A = f32(info, 5), B = f32(info, 6), C = f32(info, 7);
  const Arr<int32_t> ao = i32(info, 8), bo = i32(info, 9);
  const size_t batch = static_cast<size_t>(ao.n);
  need(bo, ao.n, "bOffsets");
  need(C, mul(ao.n, mul(M, N)), "C");
  const int64_t MK = mul(M, K), KN = mul(K, N);
  for (size_t i = 0; i < batch; i++)
    if (ao[i] < 0 || ao[i] > A.n - MK || bo[i] < 0 || bo[i] > B.n - KN)
      arg_fail("batch " + std::to_string(i) + ": offsets " + std::to_string(ao[i]) + ", " + std::to_string(bo[i]) +
               " run past A (" + std::to_string(A.n) + ") or B (" + std::to_string(B.n) + ")");
  if (M == 0 || N == 0 || batch == 0) return info.Env().Undefined();
  if (K == 0) {  // no product: C = 0 (OpenBLAS rejects a leading dimension of 0)
    std::fill(C.p, C.p + batch * M * N, 0.0f);
    return info.Env().Undefined();
  }
  // When B is shared by every batch and A is contiguous and not transposed, it is one big GEMM.
  bool shareB = true, contA = !ta;
  for (size_t i = 0; i < batch; i++) {
    if (bo[i] != bo[0]) shareB = false;
    if (ao[i] != ao[0] + static_cast<int64_t>(i) * M * K) contA = false;
  }
  if (batch > 1 && shareB && contA) {
    gemm_auto(false, tb, static_cast<int64_t>(M) * batch, N, K, A + ao[0], K, B + bo[0], tb ? K : N, C);
    return info.Env().Undefined();
  }
  auto one = [&](size_t i) {
    if (gemv_gemm(ta, tb, M, N, K, A + ao[i], ta ? M : K, B + bo[i], tb ? K : N, C + static_cast<int64_t>(i) * M * N))
      return;
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, 1.0f,
                A + ao[i], ta ? M : K, B + bo[i], tb ? K : N, 0.0f, C + static_cast<int64_t>(i) * M * N, N);
  };
  // Many small products (attention): one single-threaded GEMM per batch entry, the batch split over our
  // threads, instead of OpenBLAS synchronising its threads on every small call.
  bool parallelBatches = info.Length() > 10 && info[10].ToBoolean().Value();
  int nt = pool_threads();
  if (parallelBatches && nt > 1 && batch >= static_cast<size_t>(2 * nt)) {
    openblas_set_num_threads(1);
    parallel_for(static_cast<int64_t>(batch), 1, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; i++) one(static_cast<size_t>(i));
    });
    openblas_set_num_threads(nt);
  } else {
    for (size_t i = 0; i < batch; i++)
      gemm_auto(ta, tb, M, N, K, A + ao[i], ta ? M : K, B + bo[i], tb ? K : N, C + static_cast<int64_t>(i) * M * N);
  }
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  def(env, exports, "setNumThreads", SetNumThreads, 1);
  def(env, exports, "getNumThreads", GetNumThreads, 0);
  def(env, exports, "poolProbe", PoolProbe, 1);
  def(env, exports, "blasCore", BlasCore, 0);
  def(env, exports, "gemm", Gemm, 10);
  def(env, exports, "batchGemm", BatchGemm, 10, 11);
  def(env, exports, "smallGemm", SmallGemm, 10);
  register_elementwise(env, exports);
  register_conv(env, exports);
  register_skinny(env, exports);
  return exports;
}

}  // namespace
}  // namespace laurel

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return laurel::Init(env, exports); }
NODE_API_MODULE(laurel_native, InitAddon)
