// Elementwise, broadcasting, reduction, transpose, softmax, gather and segment-sum kernels (float32).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "common.h"
#include "relu_grad.h"

namespace laurel {
namespace {

constexpr int64_t kGrain = 16384;  // elements per thread below which we stay serial

// Cephes-style expf, branch-free so that loops over it vectorize (about 1 ulp on [-87, 88]).
inline float fexp(float in) {
  // Comparisons written so that NaN passes through; exp(x < -87.3) flushes to 0. The lower clamp sits just
  // above −126·ln 2 so that the clamped lanes' product y·2⁻¹²⁶ below stays normal: at −126·ln 2 itself y < 1
  // and the product was denormal, costing a microcode assist per lane (a causal softmax's masked half ran 2.5×
  // slower) before being replaced by 0 anyway.
  // At the top, exp overflows to +inf past ln(FLT_MAX) (as std::exp); below that, n = 128 is scaled as 2¹²⁷·2.
  float x = in > 88.72283905206835f ? 88.72283905206835f : in;
  x = x < -87.3365f ? -87.3365f : x;
  float n = std::floor(x * 1.44269504088896341f + 0.5f);
  float r = x - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  float y = p * r * r + r + 1.0f;
  const bool top = n > 127.0f;
  int32_t e = (static_cast<int32_t>(n) - (top ? 1 : 0) + 127) << 23;
  float s;
  std::memcpy(&s, &e, 4);
  const float v = top ? y * s * 2.0f : y * s;
  return in < -87.33654475f ? 0.0f : (in > 88.72283905206835f ? INFINITY : v);
}
inline float fsigmoid(float x) { return 1.0f / (1.0f + fexp(-x)); }
inline float ftanh(float x) {
  float ax = std::fabs(x);
  float big = 1.0f - 2.0f / (fexp(2.0f * ax) + 1.0f);
  float x2 = x * x;
  float small = ax * (1.0f + x2 * (-0.333333333f + x2 * (0.133333333f + x2 * -0.0539682540f)));
  float t = ax < 0.0625f ? small : big;
  return std::copysign(t, x);
}
// Abramowitz & Stegun 7.1.26, the same approximation as tfjs's cpu Erf.
inline float ferf(float x) {
  const float p = 0.3275911f, a1 = 0.254829592f, a2 = -0.284496736f, a3 = 1.421413741f, a4 = -1.453152027f,
              a5 = 1.061405429f;
  float ax = std::fabs(x);
  float t = 1.0f / (1.0f + p * ax);
  float y = 1.0f - (((((a5 * t + a4) * t) + a3) * t + a2) * t + a1) * t * fexp(-ax * ax);
  // Near zero the formula cancels in float; use the Taylor series there (|error| < 1e-9 for |x| < 0.25).
  float x2 = x * x;
  float small = 1.1283791671f * ax * (1.0f + x2 * (-0.333333333f + x2 * (0.1f + x2 * (-0.0238095238f + x2 * 0.0046296296f))));
  return std::copysign(ax < 0.25f ? small : y, x);
}

enum Unary {
  U_NEG = 0, U_RELU, U_EXP, U_LOG, U_SQRT, U_RSQRT, U_SQUARE, U_TANH, U_SIGMOID, U_ERF, U_ABS, U_RECIPROCAL,
  U_STEP, U_RELU6, U_ELU, U_LEAKY, U_SOFTPLUS, U_LOG1P, U_SIGN, U_COPY, U_SCALE, U_ADDSCALAR,
  U_COUNT  // the number of ops (argument checks)
};

template <typename F>
void map1(const float* x, float* o, int64_t n, F f) {
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) o[i] = f(x[i]);
  });
}

// unary(op, x, out, alpha)
Napi::Value UnaryOp(const Napi::CallbackInfo& info) {
  const int op = int_arg(info, 0, 0, U_COUNT - 1);
  const Arr<float> x = f32(info, 1), o = f32(info, 2);
  const int64_t n = o.n;
  need(x, n, "x");
  float a = info.Length() > 3 && !info[3].IsUndefined() ? dbl(info, 3) : 0.0f;
  switch (op) {
    case U_NEG: map1(x, o, n, [](float v) { return -v; }); break;
    case U_RELU: map1(x, o, n, [](float v) { return v > 0.0f ? v : (v == v ? 0.0f : v); }); break;
    case U_EXP: map1(x, o, n, [](float v) { return fexp(v); }); break;
    case U_LOG: map1(x, o, n, [](float v) { return std::log(v); }); break;
    case U_SQRT: map1(x, o, n, [](float v) { return std::sqrt(v); }); break;
    case U_RSQRT: map1(x, o, n, [](float v) { return 1.0f / std::sqrt(v); }); break;
    case U_SQUARE: map1(x, o, n, [](float v) { return v * v; }); break;
    case U_TANH: map1(x, o, n, [](float v) { return ftanh(v); }); break;
    case U_SIGMOID: map1(x, o, n, [](float v) { return fsigmoid(v); }); break;
    case U_ERF: map1(x, o, n, [](float v) { return ferf(v); }); break;
    case U_ABS: map1(x, o, n, [](float v) { return std::fabs(v); }); break;
    case U_RECIPROCAL: map1(x, o, n, [](float v) { return 1.0f / v; }); break;
    case U_STEP: map1(x, o, n, [a](float v) { return v > 0.0f ? 1.0f : (v == v ? a : v); }); break;
    case U_RELU6: map1(x, o, n, [](float v) { return v != v ? v : (v < 0.0f ? 0.0f : (v > 6.0f ? 6.0f : v)); }); break;
    case U_ELU: map1(x, o, n, [](float v) { return v >= 0.0f ? v : std::expm1(v); }); break;  // exp(v) − 1 cancels near 0
    case U_LEAKY: map1(x, o, n, [a](float v) { return v < 0.0f ? a * v : v; }); break;
    case U_SOFTPLUS: map1(x, o, n, [](float v) { return v > 20.0f ? v : std::log1p(std::exp(v)); }); break;
    case U_LOG1P: map1(x, o, n, [](float v) { return std::log1p(v); }); break;
    case U_SIGN: map1(x, o, n, [](float v) { return v > 0.0f ? 1.0f : (v < 0.0f ? -1.0f : 0.0f); }); break;
    case U_COPY: map1(x, o, n, [](float v) { return v; }); break;
    case U_SCALE: map1(x, o, n, [a](float v) { return a * v; }); break;
    case U_ADDSCALAR: map1(x, o, n, [a](float v) { return a + v; }); break;
    default: return Napi::Number::New(info.Env(), -1);
  }
  return Napi::Number::New(info.Env(), 0);
}

enum Binary { B_ADD = 0, B_SUB, B_MUL, B_DIV, B_MAX, B_MIN, B_SQDIFF, B_PRELU, B_POW, B_RELUGRAD, B_SIGMOIDGRAD, B_TANHGRAD, B_COUNT };

template <typename F>
inline void inner(const float* a, int sa, const float* b, int sb, float* o, int64_t n, F f) {
  if (sa == 1 && sb == 1) {
    for (int64_t i = 0; i < n; i++) o[i] = f(a[i], b[i]);
  } else if (sa == 1 && sb == 0) {
    const float bv = b[0];
    for (int64_t i = 0; i < n; i++) o[i] = f(a[i], bv);
  } else if (sa == 0 && sb == 1) {
    const float av = a[0];
    for (int64_t i = 0; i < n; i++) o[i] = f(av, b[i]);
  } else {
    for (int64_t i = 0; i < n; i++) o[i] = f(a[i * sa], b[i * sb]);
  }
}

// Broadcast over a collapsed shape (rank <= 8); strides are element strides, 0 where broadcast.
template <typename F>
void bcast(const float* a, const float* b, float* o, const int32_t* shape, const int32_t* sa, const int32_t* sb,
           int rank, F f) {
  int64_t last = shape[rank - 1];
  int64_t rows = 1;
  for (int d = 0; d < rank - 1; d++) rows *= shape[d];
  int lsa = sa[rank - 1], lsb = sb[rank - 1];
  if (rows == 1) {
    parallel_for(last, kGrain, [&](int64_t s, int64_t e) {
      inner(a + s * lsa, lsa, b + s * lsb, lsb, o + s, e - s, f);
    });
    return;
  }
  int64_t grainRows = std::max<int64_t>(1, kGrain / std::max<int64_t>(1, last));
  parallel_for(rows, grainRows, [&](int64_t s, int64_t e) {
    for (int64_t r = s; r < e; r++) {
      int64_t rem = r, oa = 0, ob = 0;
      for (int d = rank - 2; d >= 0; d--) {
        int64_t idx = rem % shape[d];
        rem /= shape[d];
        oa += idx * sa[d];
        ob += idx * sb[d];
      }
      inner(a + oa, lsa, b + ob, lsb, o + r * last, last, f);
    }
  });
}

// binary(op, a, b, out, shape, aStrides, bStrides)
Napi::Value BinaryOp(const Napi::CallbackInfo& info) {
  const int op = int_arg(info, 0, 0, B_COUNT - 1);
  const Arr<float> a = f32(info, 1), b = f32(info, 2), o = f32(info, 3);
  const Arr<int32_t> shape = i32(info, 4), sa = i32(info, 5), sb = i32(info, 6);
  need(o, shape_size(shape, 64, "shape"), "out");
  check_span(shape, sa, 0, a.n, "a");
  check_span(shape, sb, 0, b.n, "b");
  const int rank = static_cast<int>(shape.n);
  switch (op) {
    case B_ADD: bcast(a, b, o, shape, sa, sb, rank, [](float x, float y) { return x + y; }); break;
    case B_SUB: bcast(a, b, o, shape, sa, sb, rank, [](float x, float y) { return x - y; }); break;
    case B_MUL: bcast(a, b, o, shape, sa, sb, rank, [](float x, float y) { return x * y; }); break;
    case B_DIV: bcast(a, b, o, shape, sa, sb, rank, [](float x, float y) { return x / y; }); break;
    case B_MAX:
      // equal: +0 over −0, as JavaScript's Math.max (cpu's kernel)
      bcast(a, b, o, shape, sa, sb, rank, [](float x, float y) {
        return (x != x || y != y) ? NAN : (x > y ? x : (x < y ? y : (std::signbit(x) ? y : x)));
      });
      break;
    case B_MIN:
      bcast(a, b, o, shape, sa, sb, rank, [](float x, float y) {
        return (x != x || y != y) ? NAN : (x < y ? x : (x > y ? y : (std::signbit(x) ? x : y)));
      });
      break;
    case B_SQDIFF:
      bcast(a, b, o, shape, sa, sb, rank, [](float x, float y) { return (x - y) * (x - y); });
      break;
    case B_PRELU: bcast(a, b, o, shape, sa, sb, rank, [](float x, float y) { return x < 0.0f ? x * y : x; }); break;
    case B_POW: bcast(a, b, o, shape, sa, sb, rank, [](float x, float y) { return std::pow(x, y); }); break;
    case B_RELUGRAD:  // dy * step(x), as tfjs: a NaN x, or a NaN / infinite dy where x <= 0, gives NaN
      bcast(a, b, o, shape, sa, sb, rank, [](float dy, float x) { return relu_grad(dy, x); });
      break;
    case B_SIGMOIDGRAD:  // dy * y * (1 - y)
      bcast(a, b, o, shape, sa, sb, rank, [](float dy, float y) { return dy * (y * (1.0f - y)); });
      break;
    case B_TANHGRAD:  // dy * (1 - y^2)
      bcast(a, b, o, shape, sa, sb, rank, [](float dy, float y) { return dy * (1.0f - y * y); });
      break;
    default: return Napi::Number::New(info.Env(), -1);
  }
  return Napi::Number::New(info.Env(), 0);
}

enum Reduce { R_SUM = 0, R_MAX, R_MIN, R_MEAN, R_PROD, R_COUNT };

inline float rinit(int op) {
  switch (op) {
    case R_MAX: return -INFINITY;
    case R_MIN: return INFINITY;
    case R_PROD: return 1.0f;
    default: return 0.0f;
  }
}

// Σ of a contiguous row of n floats, in double as tfjs's cpu backend sums (JavaScript numbers): float32 partial
// sums drop the small terms of a large total (sum([1e8, 1000 ones, −1e8]) gave 880, cpu 1000).
inline double sum_row(const float* x, int64_t n) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; k++) acc[k] += x[i + k];
  double s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; i < n; i++) s += x[i];
  return s;
}

// The mean from a double sum, divided in double: the float32 sum of two values near 3e38 would overflow where the
// mean does not (cpu divides each value by n first).
inline float mean_of(double sum, int64_t n) { return static_cast<float>(sum / static_cast<double>(n)); }

// Reduce a contiguous row of n floats (sum, mean and product in double, as cpu).
inline float reduce_row(int op, const float* x, int64_t n) {
  if (op == R_SUM) return static_cast<float>(sum_row(x, n));
  if (op == R_MEAN) return mean_of(sum_row(x, n), n);
  if (op == R_MAX) {
    float m = -INFINITY;
    bool nan = false;
    for (int64_t i = 0; i < n; i++) {
      m = x[i] > m ? x[i] : m;
      nan |= x[i] != x[i];
    }
    return nan ? NAN : m;
  }
  if (op == R_MIN) {
    float m = INFINITY;
    bool nan = false;
    for (int64_t i = 0; i < n; i++) {
      m = x[i] < m ? x[i] : m;
      nan |= x[i] != x[i];
    }
    return nan ? NAN : m;
  }
  double p = 1.0;
  for (int64_t i = 0; i < n; i++) p *= x[i];
  return static_cast<float>(p);
}

// reduce(op, x, out, A, R, B): out[a, b] = reduce over r of x[a, r, b].
Napi::Value ReduceOp(const Napi::CallbackInfo& info) {
  const int op = int_arg(info, 0, 0, R_COUNT - 1);
  const Arr<float> x = f32(info, 1), o = f32(info, 2);
  const int64_t A = dim_arg(info, 3), R = dim_arg(info, 4), B = dim_arg(info, 5);
  need(x, prod({A, R, B}), "x");
  need(o, mul(A, B), "out");
  if (B == 1) {
    int64_t grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(1, R));
    if (A == 1 && R >= 2 * kGrain && (op == R_SUM || op == R_MEAN)) {
      double part[64] = {0};
      int64_t nch = std::min<int64_t>(64, pool_threads());
      int64_t per = (R + nch - 1) / nch;
      parallel_for(nch, 1, [&](int64_t s, int64_t e) {
        for (int64_t c = s; c < e; c++) {
          int64_t b0 = c * per, e0 = std::min(R, b0 + per);
          part[c] = b0 < e0 ? sum_row(x + b0, e0 - b0) : 0.0;
        }
      });
      double t = 0;
      for (int64_t c = 0; c < nch; c++) t += part[c];
      o[0] = op == R_MEAN ? mean_of(t, R) : static_cast<float>(t);
    } else {
      parallel_for(A, grain, [&](int64_t s, int64_t e) {
        for (int64_t a = s; a < e; a++) o[a] = reduce_row(op, x + a * R, R);
      });
    }
  } else {
    // Accumulate rows of length B; parallel over A, or over B when A is small. Sums and products accumulate in
    // double (acc), max and min in out.
    auto run = [&](int64_t a, int64_t b0, int64_t b1) {
      float* out = o + a * B;
      const float* src = x + a * R * B;
      const bool wide = op == R_SUM || op == R_MEAN || op == R_PROD;
      thread_local std::vector<double> accBuf;
      if (wide) accBuf.assign(static_cast<size_t>(b1 - b0), op == R_PROD ? 1.0 : 0.0);
      double* acc = accBuf.data();  // acc[j − b0] for column j
      float init = rinit(op);
      for (int64_t j = b0; j < b1; j++) out[j] = init;
      for (int64_t r = 0; r < R; r++) {
        const float* row = src + r * B;
        switch (op) {
          case R_SUM:
          case R_MEAN:
            for (int64_t j = b0; j < b1; j++) acc[j - b0] += row[j];
            break;
          case R_MAX:
            for (int64_t j = b0; j < b1; j++) out[j] = (row[j] > out[j] || row[j] != row[j]) ? row[j] : out[j];
            break;
          case R_MIN:
            for (int64_t j = b0; j < b1; j++) out[j] = (row[j] < out[j] || row[j] != row[j]) ? row[j] : out[j];
            break;
          default:
            for (int64_t j = b0; j < b1; j++) acc[j - b0] *= row[j];
        }
      }
      if (op == R_MEAN)
        for (int64_t j = b0; j < b1; j++) out[j] = mean_of(acc[j - b0], R);
      else if (wide)
        for (int64_t j = b0; j < b1; j++) out[j] = static_cast<float>(acc[j - b0]);
    };
    if (A >= pool_threads() * 2 || B < 64) {
      int64_t grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(1, R * B));
      parallel_for(A, grain, [&](int64_t s, int64_t e) {
        for (int64_t a = s; a < e; a++) run(a, 0, B);
      });
    } else {
      for (int64_t a = 0; a < A; a++) {
        int64_t grain = std::max<int64_t>(16, kGrain / std::max<int64_t>(1, R));
        parallel_for(B, grain, [&](int64_t s, int64_t e) { run(a, s, e); });
      }
    }
  }
  return info.Env().Undefined();
}

// transpose(x, out, shape, perm) with a collapsed shape (rank <= 8).
Napi::Value TransposeOp(const Napi::CallbackInfo& info) {
  const Arr<float> x = f32(info, 0), o = f32(info, 1);
  const Arr<int32_t> shape = i32(info, 2), perm = i32(info, 3);
  const int64_t size = shape_size(shape, 8, "shape");
  const int rank = static_cast<int>(shape.n);
  if (perm.n != rank) arg_fail("perm must have one entry per dimension");
  for (int d = 0, seen = 0; d < rank; d++) {
    if (perm[d] < 0 || perm[d] >= rank || (seen >> perm[d] & 1)) arg_fail("perm is not a permutation");
    seen |= 1 << perm[d];
  }
  need(x, size, "x");
  need(o, size, "out");
  if (size == 0) return info.Env().Undefined();
  int64_t istr[8], oshape[8], ostr_in[8];
  istr[rank - 1] = 1;
  for (int d = rank - 2; d >= 0; d--) istr[d] = istr[d + 1] * shape[d + 1];
  for (int d = 0; d < rank; d++) {
    oshape[d] = shape[perm[d]];
    ostr_in[d] = istr[perm[d]];  // input stride for each output dim
  }
  int64_t total = 1;
  for (int d = 0; d < rank; d++) total *= oshape[d];
  if (rank >= 2 && perm[rank - 1] == rank - 1) {
    // Last dim kept: copy contiguous runs.
    int64_t run = oshape[rank - 1];
    int64_t rows = total / run;
    parallel_for(rows, std::max<int64_t>(1, kGrain / run), [&](int64_t s, int64_t e) {
      for (int64_t r = s; r < e; r++) {
        int64_t rem = r, off = 0;
        for (int d = rank - 2; d >= 0; d--) {
          off += (rem % oshape[d]) * ostr_in[d];
          rem /= oshape[d];
        }
        std::memcpy(o + r * run, x + off, run * sizeof(float));
      }
    });
    return info.Env().Undefined();
  }
  // Blocked 2-D transpose of the last two output dims, batched over the rest.
  int64_t R = oshape[rank - 2 >= 0 ? rank - 2 : 0], C = oshape[rank - 1];
  if (rank < 2) R = 1;
  int64_t sR = rank >= 2 ? ostr_in[rank - 2] : 0, sC = ostr_in[rank - 1];
  int64_t outer = total / (R * C);
  constexpr int64_t T = 32;
  int64_t tilesR = (R + T - 1) / T;
  parallel_for(outer * tilesR, std::max<int64_t>(1, kGrain / (T * C)), [&](int64_t s, int64_t e) {
    for (int64_t w = s; w < e; w++) {
      int64_t ob = w / tilesR, tr = w % tilesR;
      int64_t rem = ob, off = 0;
      for (int d = rank - 3; d >= 0; d--) {
        off += (rem % oshape[d]) * ostr_in[d];
        rem /= oshape[d];
      }
      float* dst = o + ob * R * C;
      int64_t r0 = tr * T, r1 = std::min(R, r0 + T);
      for (int64_t c0 = 0; c0 < C; c0 += T) {
        int64_t c1 = std::min(C, c0 + T);
        for (int64_t r = r0; r < r1; r++)
          for (int64_t c = c0; c < c1; c++) dst[r * C + c] = x[off + r * sR + c * sC];
      }
    }
  });
  return info.Env().Undefined();
}

// softmax(x, out, rows, cols, log)
Napi::Value SoftmaxOp(const Napi::CallbackInfo& info) {
  const Arr<float> x = f32(info, 0), o = f32(info, 1);
  const int64_t rows = dim_arg(info, 2), cols = dim_arg(info, 3);
  const bool lg = flag(info, 4);
  need(x, mul(rows, cols), "x");
  need(o, mul(rows, cols), "out");
  parallel_for(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, cols)), [&](int64_t s, int64_t e) {
    for (int64_t r = s; r < e; r++) {
      const float* xr = x + r * cols;
      float* orow = o + r * cols;
      float m = reduce_row(R_MAX, xr, cols);
      float sum = 0.0f;
      for (int64_t j = 0; j < cols; j++) {
        float v = fexp(xr[j] - m);
        orow[j] = v;
        sum += v;
      }
      if (lg) {
        float ls = std::log(sum) + m;
        for (int64_t j = 0; j < cols; j++) orow[j] = xr[j] - ls;
      } else {
        float inv = 1.0f / sum;
        for (int64_t j = 0; j < cols; j++) orow[j] *= inv;
      }
    }
  });
  return info.Env().Undefined();
}

// causalSoftmax(x, y, T, scale): each T×T matrix of x, row i: y[i, j] = softmax_j(scale·x[i, j]) over j ≤ i, and
// 0 past the diagonal (attention's causal mask, without an additive mask tensor). scale > 0.
Napi::Value CausalSoftmaxOp(const Napi::CallbackInfo& info) {
  const Arr<float> x = f32(info, 0), y = f32(info, 1);
  const int64_t T = int_arg(info, 2, 1, kMaxDim), rows = x.n / T;
  need(y, rows * T, "y");
  const float scale = static_cast<float>(dbl(info, 3));
  parallel_for(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, T)), [&](int64_t s, int64_t e) {
    for (int64_t r = s; r < e; r++) {
      const int64_t n = r % T + 1;  // columns 0..i
      const float* xr = x + r * T;
      float* yr = y + r * T;
      const float m = scale * reduce_row(R_MAX, xr, n);
      for (int64_t j = 0; j < n; j++) yr[j] = fexp(scale * xr[j] - m);
      const float inv = 1.0f / reduce_row(R_SUM, yr, n);
      for (int64_t j = 0; j < n; j++) yr[j] *= inv;
      std::fill(yr + n, yr + T, 0.0f);
    }
  });
  return info.Env().Undefined();
}

// causalSoftmaxGrad(dy, y, dx, T, scale): dx = scale·y·(dy − Σ_j dy_j·y_j) row by row (0 where y is).
Napi::Value CausalSoftmaxGradOp(const Napi::CallbackInfo& info) {
  const Arr<float> dy = f32(info, 0), y = f32(info, 1), dx = f32(info, 2);
  const int64_t T = int_arg(info, 3, 1, kMaxDim), rows = dy.n / T;
  need(y, rows * T, "y");
  need(dx, rows * T, "dx");
  const float scale = static_cast<float>(dbl(info, 4));
  parallel_for(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, T)), [&](int64_t s, int64_t e) {
    for (int64_t r = s; r < e; r++) {
      const int64_t n = r % T + 1;
      const float* g = dy + r * T;
      const float* yr = y + r * T;
      float* o = dx + r * T;
      float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};  // Σ dy·y in 8 lanes (vectorised)
      int64_t j = 0;
      for (; j + 8 <= n; j += 8)
        for (int k = 0; k < 8; k++) acc[k] += g[j + k] * yr[j + k];
      float dot = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
      for (; j < n; j++) dot += g[j] * yr[j];
      for (j = 0; j < n; j++) o[j] = scale * yr[j] * (g[j] - dot);
      std::fill(o + n, o + T, 0.0f);
    }
  });
  return info.Env().Undefined();
}

// gather(x, indices, out, outer, axisSize, inner): out[o, i, :] = x[o, idx[i], :]. Returns the first bad index
// position or -1.
Napi::Value GatherOp(const Napi::CallbackInfo& info) {
  const Arr<float> x = f32(info, 0), o = f32(info, 2);
  const Arr<int32_t> idx = i32(info, 1);
  const int64_t nIdx = idx.n;
  const int64_t outer = dim_arg(info, 3), axis = dim_arg(info, 4), inner = dim_arg(info, 5);
  need(x, prod({outer, axis, inner}), "x");
  need(o, prod({outer, nIdx, inner}), "out");
  for (int64_t i = 0; i < nIdx; i++)
    if (idx[i] < 0 || idx[i] >= axis) return Napi::Number::New(info.Env(), static_cast<double>(i));
  parallel_for(outer * nIdx, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, inner)), [&](int64_t s, int64_t e) {
    for (int64_t w = s; w < e; w++) {
      int64_t ob = w / nIdx, i = w % nIdx;
      std::memcpy(o + w * inner, x + (ob * axis + idx[i]) * inner, inner * sizeof(float));
    }
  });
  return Napi::Number::New(info.Env(), -1);
}

// segmentSum(x, ids, out, inner, numSegments): out[ids[i], :] += x[i, :]; ids outside the range are dropped.
Napi::Value SegmentSumOp(const Napi::CallbackInfo& info) {
  const Arr<float> x = f32(info, 0), o = f32(info, 2);
  const Arr<int32_t> ids = i32(info, 1);
  const int64_t n = ids.n, inner = dim_arg(info, 3), segs = dim_arg(info, 4);
  need(x, mul(n, inner), "x");
  need(o, mul(segs, inner), "out");
  std::memset(o, 0, segs * inner * sizeof(float));
  // Parallel over columns so that no two threads touch the same output element.
  parallel_for(inner, std::max<int64_t>(16, kGrain / std::max<int64_t>(1, n)), [&](int64_t s, int64_t e) {
    for (int64_t i = 0; i < n; i++) {
      int64_t id = ids[i];
      if (id < 0 || id >= segs) continue;
      const float* src = x + i * inner;
      float* dst = o + id * inner;
      for (int64_t j = s; j < e; j++) dst[j] += src[j];
    }
  });
  return info.Env().Undefined();
}

// batchNorm(x, out, mean, variance, offset|null, scale|null, eps[, relu]): parameters indexed by i % their
// length; with relu, max(·, 0) as the output is written (inference-mode BN + ReLU in one pass).
void bn_affine(const float* mean, const float* var, const float* g, const float* b, float eps, int64_t C, float* mul,
               float* add);
Napi::Value BatchNormOp(const Napi::CallbackInfo& info) {
  const Arr<float> x = f32(info, 0), o = f32(info, 1), mean = f32(info, 2), var = f32(info, 3);
  const Arr<float> off = f32_opt(info, 4), sc = f32_opt(info, 5);
  const int64_t n = o.n, lm = mean.n, lv = var.n;
  const bool hasOff = off.p != nullptr, hasScale = sc.p != nullptr;
  const int64_t lo = hasOff ? off.n : 1, ls = hasScale ? sc.n : 1;
  float eps = dbl(info, 6);
  const float lowest = info.Length() > 7 && info[7].ToBoolean().Value() ? 0.0f : -INFINITY;
  need(x, n, "x");
  if (lm < 1 || lv < 1 || lo < 1 || ls < 1) arg_fail("mean, variance, offset and scale must not be empty");
  int64_t C = lm;
  bool perChannel = lv == C && (!hasOff || lo == C) && (!hasScale || ls == C) && n % C == 0;
  if (perChannel) {
    std::vector<float> mul(C), add(C);
    bn_affine(mean.p, var.p, hasScale ? sc.p : nullptr, hasOff ? off.p : nullptr, eps, C, mul.data(), add.data());
    int64_t rows = n / C;
    parallel_for(rows, std::max<int64_t>(1, kGrain / C), [&](int64_t s, int64_t e) {
      for (int64_t r = s; r < e; r++)
        for (int64_t c = 0; c < C; c++)
          o[r * C + c] = std::max((x[r * C + c] - mean[c]) * mul[c] + add[c], lowest);
    });
  } else {
    for (int64_t i = 0; i < n; i++) {
      float s = hasScale ? sc[i % ls] : 1.0f;
      float b = hasOff ? off[i % lo] : 0.0f;
      o[i] = std::max((x[i] - mean[i % lm]) * s / std::sqrt(var[i % lv] + eps) + b, lowest);
    }
  }
  return info.Env().Undefined();
}

// tile(x, out, inShape, outShape): out[i] = x[i mod inShape per dim].
Napi::Value TileOp(const Napi::CallbackInfo& info) {
  const Arr<float> x = f32(info, 0), o = f32(info, 1);
  const Arr<int32_t> ish = i32(info, 2), osh = i32(info, 3);
  need(x, shape_size(ish, 8, "inShape"), "x");
  need(o, shape_size(osh, 8, "outShape"), "out");
  const int rank = static_cast<int>(ish.n);
  if (osh.n != rank) arg_fail("inShape and outShape differ in rank");
  for (int d = 0; d < rank; d++)
    if (osh[d] > 0 && (ish[d] == 0 || osh[d] % ish[d] != 0)) arg_fail("outShape is not a multiple of inShape");
  for (int d = 0; d < rank; d++)
    if (osh[d] == 0) return info.Env().Undefined();
  int64_t istr[8];
  istr[rank - 1] = 1;
  for (int d = rank - 2; d >= 0; d--) istr[d] = istr[d + 1] * ish[d + 1];
  int64_t last = osh[rank - 1], ilast = ish[rank - 1];
  int64_t rows = 1;
  for (int d = 0; d < rank - 1; d++) rows *= osh[d];
  parallel_for(rows, std::max<int64_t>(1, kGrain / last), [&](int64_t s, int64_t e) {
    for (int64_t r = s; r < e; r++) {
      int64_t rem = r, off = 0;
      for (int d = rank - 2; d >= 0; d--) {
        off += (rem % osh[d]) % ish[d] * istr[d];
        rem /= osh[d];
      }
      float* dst = o + r * last;
      for (int64_t j = 0; j < last; j += ilast) std::memcpy(dst + j, x + off, ilast * sizeof(float));
    }
  });
  return info.Env().Undefined();
}

// adamw(p, g, m, v, pOut, mOut, vOut, lr, beta1, beta2, eps, weightDecay, bc1, bc2), torch.optim.AdamW:
//   p ← p·(1 − lr·wd);  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;  p ← p − (lr/bc1)·m / (√v/√bc2 + ε)
// with bc1 = 1 − β1^t, bc2 = 1 − β2^t. Outputs may alias the inputs.
Napi::Value AdamWOp(const Napi::CallbackInfo& info) {
  const Arr<float> p = f32(info, 0), g = f32(info, 1), m = f32(info, 2), v = f32(info, 3);
  const Arr<float> po = f32(info, 4), mo = f32(info, 5), vo = f32(info, 6);
  const int64_t n = p.n;
  need_each(n, {{g, "g"}, {m, "m"}, {v, "v"}, {po, "pOut"}, {mo, "mOut"}, {vo, "vOut"}});
  float lr = dbl(info, 7), b1 = dbl(info, 8), b2 = dbl(info, 9), eps = dbl(info, 10), wd = dbl(info, 11);
  float bc1 = dbl(info, 12), bc2 = dbl(info, 13);
  float step = lr / bc1, isb2 = 1.0f / std::sqrt(bc2), keep = 1.0f - lr * wd;
  parallel_for(n, kGrain, [&](int64_t s, int64_t e) {
    for (int64_t i = s; i < e; i++) {
      float gi = g[i];
      float mi = b1 * m[i] + (1.0f - b1) * gi;
      float vi = b2 * v[i] + (1.0f - b2) * (gi * gi);
      float pd = p[i] * keep;
      mo[i] = mi;
      vo[i] = vi;
      po[i] = pd - step * (mi / (std::sqrt(vi) * isb2 + eps));
    }
  });
  return info.Env().Undefined();
}

// sgd(p, g, buf, pOut, bufOut, lr, momentum, weightDecay, nesterov, first): torch.optim.SGD with L2 decay:
//   d = g + wd·p;  b = first ? d : μ·b + d;  d = nesterov ? d + μ·b : b;  p ← p − lr·d
Napi::Value SgdOp(const Napi::CallbackInfo& info) {
  const Arr<float> p = f32(info, 0), g = f32(info, 1), b = f32(info, 2), po = f32(info, 3), bo = f32(info, 4);
  const int64_t n = p.n;
  need_each(n, {{g, "g"}, {b, "buf"}, {po, "pOut"}, {bo, "bufOut"}});
  float lr = dbl(info, 5), mu = dbl(info, 6), wd = dbl(info, 7);
  const bool nesterov = flag(info, 8), first = flag(info, 9);
  parallel_for(n, kGrain, [&](int64_t s, int64_t e) {
    for (int64_t i = s; i < e; i++) {
      float d = g[i] + wd * p[i];
      float bi = first ? d : mu * b[i] + d;
      bo[i] = bi;
      float u = nesterov ? d + mu * bi : bi;
      po[i] = p[i] - lr * u;
    }
  });
  return info.Env().Undefined();
}

// α or β: null, or 1 or at least D values (what coef reads).
void check_coef(const Arr<float>& c, int64_t D, const char* what) {
  if (c.p != nullptr && c.n != 1 && c.n < D)
    arg_fail(std::string(what) + " must have 1 or " + std::to_string(D) + " values, got " + std::to_string(c.n));
}

// A length-1 or length-D coefficient (α or β) broadcast to D values; missing: all ones.
std::vector<float> coef(const float* p, int64_t len, int64_t D) {
  std::vector<float> v(static_cast<size_t>(D), 1.0f);
  if (p)
    for (int64_t j = 0; j < D; j++) v[j] = len == 1 ? p[0] : p[j];
  return v;
}

// Rows [r0, r1) of out = α·fx + β·(x + extra), then ReLU where kRelu (NaN passes, as tf.relu). Branch-free
// inner loops (templates, restrict) so that GCC vectorises them over the last dimension.
template <bool kExtra, bool kRelu>
void combine_rows(int64_t r0, int64_t r1, int64_t D, const float* __restrict fx, const float* __restrict x,
                  const float* __restrict ex, const float* __restrict a, const float* __restrict b,
                  float* __restrict out) {
  for (int64_t r = r0; r < r1; r++) {
    const int64_t o = r * D;
    for (int64_t j = 0; j < D; j++) {
      float in = x[o + j];
      if constexpr (kExtra) in += ex[o + j];
      const float v = a[j] * fx[o + j] + b[j] * in;
      out[o + j] = kRelu ? (v < 0.0f ? 0.0f : v) : v;
    }
  }
}

// Rows [r0, r1) of the combine's gradient, accumulating Σ dy·fx and Σ dy·(x + extra) per column. With y (the
// forward's ReLU output), dy is first taken through the ReLU's gradient (relu_grad.h) in the same pass.
template <bool kExtra, bool kDx, bool kRelu>
void combine_grad_rows(int64_t r0, int64_t r1, int64_t D, const float* __restrict dy, const float* __restrict fx,
                       const float* __restrict x, const float* __restrict ex, const float* __restrict a,
                       const float* __restrict b, const float* __restrict y, float* __restrict dfx,
                       float* __restrict dx, float* __restrict accA, float* __restrict accB) {
  for (int64_t r = r0; r < r1; r++) {
    const int64_t o = r * D;
    for (int64_t j = 0; j < D; j++) {
      const float d = dy[o + j];
      const float g = kRelu ? relu_grad(d, y[o + j]) : d;
      float in = x[o + j];
      if constexpr (kExtra) in += ex[o + j];
      dfx[o + j] = a[j] * g;
      if constexpr (kDx) dx[o + j] = b[j] * g;
      accA[j] += g * fx[o + j];
      accB[j] += g * in;
    }
  }
}

// combine(fx, x, extra|null, alpha|null, beta|null, out, D[, relu]): out = α·fx + β·(x + extra), α and β of
// length 1 or D (the last dimension); a missing α/β is 1, a missing extra is 0; relu: ReLU of that. The LAUREL
// combine (and a ResNet block's final activation) in one pass.
Napi::Value CombineOp(const Napi::CallbackInfo& info) {
  const Arr<float> fx = f32(info, 0), x = f32(info, 1), ex = f32_opt(info, 2), al = f32_opt(info, 3);
  const Arr<float> be = f32_opt(info, 4), out = f32(info, 5);
  const int64_t la = al.n, lb = be.n, D = int_arg(info, 6, 1, kMaxDim), rows = out.n / D, n = rows * D;
  need_each(n, {{fx, "fx"}, {x, "x"}});
  need_opt(ex, n, "extra");
  check_coef(al, D, "alpha");
  check_coef(be, D, "beta");
  const bool relu = info.Length() > 7 && info[7].ToBoolean().Value();
  const std::vector<float> av = coef(al, la, D), bv = coef(be, lb, D);
  parallel_for(rows, std::max<int64_t>(1, kGrain / D), [&](int64_t s, int64_t e) {
    const float *a = av.data(), *b = bv.data();
    if (ex && relu)
      combine_rows<true, true>(s, e, D, fx, x, ex, a, b, out);
    else if (ex)
      combine_rows<true, false>(s, e, D, fx, x, ex, a, b, out);
    else if (relu)
      combine_rows<false, true>(s, e, D, fx, x, nullptr, a, b, out);
    else
      combine_rows<false, false>(s, e, D, fx, x, nullptr, a, b, out);
  });
  return info.Env().Undefined();
}

// Elements [s, e) of the combine's gradient for scalar α and β, with the sums Σ dy·fx and Σ dy·(x + extra)
// returned in sa, sb: a flat loop in blocks of 16 (AVX2 where built with it) with 16 partial sums each. The
// per-column loop above measured 4× slower, and 25× with the ReLU mask (there GCC branched on it). Called on
// blocks of kSumBlock elements (combine_grad_flat).
template <bool kExtra, bool kDx, bool kRelu>
void combine_grad_block(int64_t s, int64_t e, const float* __restrict dy, const float* __restrict fx,
                       const float* __restrict x, const float* __restrict ex, float a, float b,
                       const float* __restrict y, float* __restrict dfx, float* __restrict dx, float& sa, float& sb) {
  float accA[16] = {}, accB[16] = {};
  int64_t i = s;
#if defined(__AVX2__) && defined(__FMA__)
  // Explicit AVX2: GCC's vectorisation of the loop below keeps the partial sums on the stack.
  {
    __m256 sa0 = _mm256_setzero_ps(), sa1 = _mm256_setzero_ps(), sb0 = _mm256_setzero_ps(), sb1 = _mm256_setzero_ps();
    const __m256 va = _mm256_set1_ps(a), vb = _mm256_set1_ps(b);
    auto half = [&](int64_t k, __m256& accA8, __m256& accB8) {
      __m256 g = _mm256_loadu_ps(dy + k);
      if constexpr (kRelu) g = relu_grad8(g, _mm256_loadu_ps(y + k));
      __m256 in = _mm256_loadu_ps(x + k);
      if constexpr (kExtra) in = _mm256_add_ps(in, _mm256_loadu_ps(ex + k));
      _mm256_storeu_ps(dfx + k, _mm256_mul_ps(va, g));
      if constexpr (kDx) _mm256_storeu_ps(dx + k, _mm256_mul_ps(vb, g));
      accA8 = _mm256_fmadd_ps(g, _mm256_loadu_ps(fx + k), accA8);
      accB8 = _mm256_fmadd_ps(g, in, accB8);
    };
    for (; i + 16 <= e; i += 16) {
      half(i, sa0, sb0);
      half(i + 8, sa1, sb1);
    }
    _mm256_storeu_ps(accA, sa0);
    _mm256_storeu_ps(accA + 8, sa1);
    _mm256_storeu_ps(accB, sb0);
    _mm256_storeu_ps(accB + 8, sb1);
  }
#endif
  auto body = [&](int64_t i, int l) {
    const float d = dy[i];  // loaded unconditionally: a load under the mask's condition compiles to a branch
    const float g = kRelu ? relu_grad(d, y[i]) : d;
    float in = x[i];
    if constexpr (kExtra) in += ex[i];
    dfx[i] = a * g;
    if constexpr (kDx) dx[i] = b * g;
    accA[l] += g * fx[i];
    accB[l] += g * in;
  };
  for (; i + 16 <= e; i += 16)
    for (int l = 0; l < 16; l++) body(i + l, l);
  for (int l = 0; i < e; i++, l++) body(i, l);
  sa = sb = 0.0f;
  for (int l = 0; l < 16; l++) {
    sa += accA[l];
    sb += accB[l];
  }
}

// Elements per float partial sum in the gradients' reductions, the partials then added in double: one float
// accumulator over a thread's share (millions of elements) drifted by 0.25 % at 4M elements.
constexpr int64_t kSumBlock = 4096;

// combine_grad_block over [s, e) in blocks of kSumBlock, the sums added in double.
template <bool kExtra, bool kDx, bool kRelu>
void combine_grad_flat(int64_t s, int64_t e, const float* dy, const float* fx, const float* x, const float* ex,
                       float a, float b, const float* y, float* dfx, float* dx, double& sa, double& sb) {
  for (int64_t b0 = s; b0 < e; b0 += kSumBlock) {
    float pa = 0.0f, pb = 0.0f;
    combine_grad_block<kExtra, kDx, kRelu>(b0, std::min(e, b0 + kSumBlock), dy, fx, x, ex, a, b, y, dfx, dx, pa, pb);
    sa += pa;
    sb += pb;
  }
}

// Rows [r0, r1) of combine_grad_rows in blocks of about kSumBlock elements, the column sums added in double to
// accA and accB (of D each); tmp holds 2·D floats.
template <bool kExtra, bool kDx, bool kRelu>
void combine_grad_rows_blocked(int64_t r0, int64_t r1, int64_t D, const float* dy, const float* fx, const float* x,
                               const float* ex, const float* a, const float* b, const float* y, float* dfx,
                               float* dx, double* accA, double* accB, float* tmp) {
  const int64_t step = std::max<int64_t>(1, kSumBlock / D);
  for (int64_t q0 = r0; q0 < r1; q0 += step) {
    std::fill(tmp, tmp + 2 * D, 0.0f);
    combine_grad_rows<kExtra, kDx, kRelu>(q0, std::min(r1, q0 + step), D, dy, fx, x, ex, a, b, y, dfx, dx, tmp,
                                          tmp + D);
    for (int64_t j = 0; j < D; j++) {
      accA[j] += tmp[j];
      accB[j] += tmp[D + j];
    }
  }
}

// combineGrad(dy, fx, x, extra|null, alpha|null, beta|null, dfx, dx|null, dAlpha|null, dBeta|null, D[, y]):
// dfx = α·dy; dx = β·dy (also the gradient of extra); dα = Σ dy·fx, dβ = Σ dy·(x + extra), summed to length 1 or D.
// With y (the output of combine with relu), relu_grad(dy, y) stands for dy throughout.
Napi::Value CombineGradOp(const Napi::CallbackInfo& info) {
  const Arr<float> dy = f32(info, 0), fx = f32(info, 1), x = f32(info, 2), ex = f32_opt(info, 3);
  const Arr<float> al = f32_opt(info, 4), be = f32_opt(info, 5), dfx = f32(info, 6);
  const Arr<float> dx = f32_opt(info, 7);  // null: the caller computes dx itself
  const Arr<float> da = f32_opt(info, 8), db = f32_opt(info, 9), y = f32_opt(info, 11);
  const int64_t la = al.n, lb = be.n, D = int_arg(info, 10, 1, kMaxDim);
  need_each(dy.n, {{fx, "fx"}, {x, "x"}, {dfx, "dfx"}});
  for (const Arr<float>& a : {ex, dx, y}) need_opt(a, dy.n, "extra, dx and y");
  check_coef(al, D, "alpha");
  check_coef(be, D, "beta");
  // dα and dβ: one sum, or one per column when α or β has D entries (the row path), whichever is null.
  const bool scalar = la <= 1 && lb <= 1;
  need_opt(da, scalar || la == 1 ? 1 : D, "dAlpha");
  need_opt(db, scalar || lb == 1 ? 1 : D, "dBeta");
  if (y && ex) {
    Napi::Error::New(info.Env(), "combineGrad: the ReLU form takes no extra").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  const int64_t n = dy.n, rows = n / D;
  int nt = std::max(1, pool_threads());
  if (la <= 1 && lb <= 1) {  // scalar α and β: one flat pass
    const float a = al ? al[0] : 1.0f, b = be ? be[0] : 1.0f;
    std::vector<double> sums(static_cast<size_t>(2 * nt), 0.0);
    parallel_for(nt, 1, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; c++) {
        const int64_t s = n * c / nt, e = n * (c + 1) / nt;
        double& sa = sums[2 * c];
        double& sb = sums[2 * c + 1];
        if (y && dx)
          combine_grad_flat<false, true, true>(s, e, dy, fx, x, ex, a, b, y, dfx, dx, sa, sb);
        else if (y)
          combine_grad_flat<false, false, true>(s, e, dy, fx, x, ex, a, b, y, dfx, dx, sa, sb);
        else if (ex && dx)
          combine_grad_flat<true, true, false>(s, e, dy, fx, x, ex, a, b, y, dfx, dx, sa, sb);
        else if (ex)
          combine_grad_flat<true, false, false>(s, e, dy, fx, x, ex, a, b, y, dfx, dx, sa, sb);
        else if (dx)
          combine_grad_flat<false, true, false>(s, e, dy, fx, x, ex, a, b, y, dfx, dx, sa, sb);
        else
          combine_grad_flat<false, false, false>(s, e, dy, fx, x, ex, a, b, y, dfx, dx, sa, sb);
      }
    });
    double ta = 0.0, tb = 0.0;
    for (int c = 0; c < nt; c++) {
      ta += sums[2 * c];
      tb += sums[2 * c + 1];
    }
    if (da) da[0] = static_cast<float>(ta);
    if (db) db[0] = static_cast<float>(tb);
    return info.Env().Undefined();
  }
  std::vector<double> pa(static_cast<size_t>(nt) * D, 0.0), pb(static_cast<size_t>(nt) * D, 0.0);
  int64_t per = (rows + nt - 1) / nt;
  const std::vector<float> av = coef(al, la, D), bv = coef(be, lb, D);
  parallel_for(nt, 1, [&](int64_t s, int64_t e) {
    std::vector<float> tmp(static_cast<size_t>(2 * D));
    for (int64_t c = s; c < e; c++) {
      double* accA = pa.data() + c * D;
      double* accB = pb.data() + c * D;
      int64_t r0 = c * per, r1 = std::min(rows, r0 + per);
      const float* a = av.data();
      const float* b = bv.data();
      if (y)  // the ReLU form: RW and RW+LR's split path, never with extra
        if (dx)
          combine_grad_rows_blocked<false, true, true>(r0, r1, D, dy, fx, x, ex, a, b, y, dfx, dx, accA, accB, tmp.data());
        else
          combine_grad_rows_blocked<false, false, true>(r0, r1, D, dy, fx, x, ex, a, b, y, dfx, dx, accA, accB, tmp.data());
      else if (ex && dx)
        combine_grad_rows_blocked<true, true, false>(r0, r1, D, dy, fx, x, ex, a, b, y, dfx, dx, accA, accB, tmp.data());
      else if (ex)
        combine_grad_rows_blocked<true, false, false>(r0, r1, D, dy, fx, x, ex, a, b, y, dfx, dx, accA, accB, tmp.data());
      else if (dx)
        combine_grad_rows_blocked<false, true, false>(r0, r1, D, dy, fx, x, ex, a, b, y, dfx, dx, accA, accB, tmp.data());
      else
        combine_grad_rows_blocked<false, false, false>(r0, r1, D, dy, fx, x, ex, a, b, y, dfx, dx, accA, accB, tmp.data());
    }
  });
  auto finish = [&](float* dst, const std::vector<double>& part, int64_t len) {
    if (!dst) return;
    std::vector<double> col(D, 0.0);
    for (int c = 0; c < nt; c++)
      for (int64_t j = 0; j < D; j++) col[j] += part[c * D + j];
    if (len == 1) {
      double t = 0;
      for (int64_t j = 0; j < D; j++) t += col[j];
      dst[0] = static_cast<float>(t);
    } else {
      for (int64_t j = 0; j < D; j++) dst[j] = static_cast<float>(col[j]);
    }
  };
  finish(da, pa, la);
  finish(db, pb, lb);
  return info.Env().Undefined();
}

constexpr float kGeluA = 1.5957691216057308f;  // 2·sqrt(2/π)
constexpr float kGeluB = 0.044715f;

// gelu(x, out): tanh approximation in the σ form, x·σ(a·(x + 0.044715·x³)), a = 2√(2/π).
Napi::Value GeluOp(const Napi::CallbackInfo& info) {
  const Arr<float> x = f32(info, 0), o = f32(info, 1);
  const int64_t n = o.n;
  need(x, n, "x");
  map1(x, o, n, [](float v) { return v * fsigmoid(kGeluA * (v + kGeluB * v * v * v)); });
  return info.Env().Undefined();
}

// geluGrad(dy, x, dx): d/dx x·σ(u) = σ(u) + x·σ(u)(1 − σ(u))·a·(1 + 3·0.044715·x²).
Napi::Value GeluGradOp(const Napi::CallbackInfo& info) {
  const Arr<float> dy = f32(info, 0), x = f32(info, 1), dx = f32(info, 2);
  const int64_t n = dx.n;
  need_each(n, {{dy, "dy"}, {x, "x"}});
  parallel_for(n, kGrain, [&](int64_t s, int64_t e) {
    for (int64_t i = s; i < e; i++) {
      float v = x[i];
      float sg = fsigmoid(kGeluA * (v + kGeluB * v * v * v));
      dx[i] = dy[i] * (sg + v * sg * (1.0f - sg) * kGeluA * (1.0f + 3.0f * kGeluB * v * v));
    }
  });
  return info.Env().Undefined();
}

// layerNorm(x, gamma|null, beta|null, out, mean, rstd, D, eps): over the last dimension (rows = n / D).
Napi::Value LayerNormOp(const Napi::CallbackInfo& info) {
  const Arr<float> x = f32(info, 0), g = f32_opt(info, 1), b = f32_opt(info, 2), o = f32(info, 3);
  const Arr<float> mean = f32(info, 4), rstd = f32(info, 5);
  const int64_t D = int_arg(info, 6, 1, kMaxDim), rows = o.n / D;
  float eps = dbl(info, 7);
  need(x, rows * D, "x");
  need_each(rows, {{mean, "mean"}, {rstd, "rstd"}});
  need_opt(g, D, "gamma");
  need_opt(b, D, "beta");
  parallel_for(rows, std::max<int64_t>(1, kGrain / D), [&](int64_t s, int64_t e) {
    for (int64_t r = s; r < e; r++) {
      const float* xr = x + r * D;
      float* orow = o + r * D;
      float m = mean_of(sum_row(xr, D), D);
      float var = 0.0f;
      for (int64_t j = 0; j < D; j++) var += (xr[j] - m) * (xr[j] - m);
      float rs = 1.0f / std::sqrt(var / static_cast<float>(D) + eps);
      mean[r] = m;
      rstd[r] = rs;
      for (int64_t j = 0; j < D; j++) {
        float v = (xr[j] - m) * rs;
        orow[j] = v * (g ? g[j] : 1.0f) + (b ? b[j] : 0.0f);
      }
    }
  });
  return info.Env().Undefined();
}

// layerNormGrad(dy, x, mean, rstd, gamma|null, dx, dGamma|null, dBeta|null, D):
// dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) with ĝ = dy·γ; dγ = Σ dy·x̂, dβ = Σ dy over rows.
Napi::Value LayerNormGradOp(const Napi::CallbackInfo& info) {
  const Arr<float> dy = f32(info, 0), x = f32(info, 1), mean = f32(info, 2), rstd = f32(info, 3);
  const Arr<float> g = f32_opt(info, 4), dx = f32(info, 5), dg = f32_opt(info, 6), db = f32_opt(info, 7);
  const int64_t D = int_arg(info, 8, 1, kMaxDim), rows = dy.n / D;
  need_each(rows * D, {{x, "x"}, {dx, "dx"}});
  need_each(rows, {{mean, "mean"}, {rstd, "rstd"}});
  for (const Arr<float>& a : {g, dg, db}) need_opt(a, D, "gamma, dGamma and dBeta");
  int nt = std::max(1, pool_threads());
  // dγ and dβ sum over every row: in double (a float column sum drifted by 1 % over 4M elements)
  std::vector<double> pg(static_cast<size_t>(nt) * D, 0.0), pb(static_cast<size_t>(nt) * D, 0.0);
  int64_t per = (rows + nt - 1) / nt;
  parallel_for(nt, 1, [&](int64_t s, int64_t e) {
    std::vector<float> xh(D), gh(D);
    for (int64_t c = s; c < e; c++) {
      double* accG = pg.data() + c * D;
      double* accB = pb.data() + c * D;
      int64_t r0 = c * per, r1 = std::min(rows, r0 + per);
      for (int64_t r = r0; r < r1; r++) {
        const float* xr = x + r * D;
        const float* dyr = dy + r * D;
        float m = mean[r], rs = rstd[r];
        float sg = 0.0f, sgx = 0.0f;
        for (int64_t j = 0; j < D; j++) {
          float h = (xr[j] - m) * rs;
          float q = dyr[j] * (g ? g[j] : 1.0f);
          xh[j] = h;
          gh[j] = q;
          sg += q;
          sgx += q * h;
          accG[j] += dyr[j] * h;
          accB[j] += dyr[j];
        }
        float invD = 1.0f / static_cast<float>(D);
        sg *= invD;
        sgx *= invD;
        float* dxr = dx + r * D;
        for (int64_t j = 0; j < D; j++) dxr[j] = rs * (gh[j] - sg - xh[j] * sgx);
      }
    }
  });
  for (int64_t j = 0; j < D; j++) {
    double sgm = 0.0, sb = 0.0;
    for (int c = 0; c < nt; c++) {
      sgm += pg[c * D + j];
      sb += pb[c * D + j];
    }
    if (dg) dg[j] = static_cast<float>(sgm);
    if (db) db[j] = static_cast<float>(sb);
  }
  return info.Env().Undefined();
}

// Per-thread column sums over row ranges of an [rows, C] array, combined at the end.
template <typename F>
void column_sums(int64_t rows, int64_t C, int nacc, float* out, F row_fn) {
  int nt = std::max(1, pool_threads());
  std::vector<double> part(static_cast<size_t>(nt) * nacc * C, 0.0);
  int64_t per = (rows + nt - 1) / nt;
  parallel_for(nt, 1, [&](int64_t s, int64_t e) {
    std::vector<float> acc(static_cast<size_t>(nacc) * C);
    for (int64_t c = s; c < e; c++) {
      int64_t r0 = c * per, r1 = std::min(rows, r0 + per);
      double* dst = part.data() + c * nacc * C;
      // Accumulate blocks of rows in float, flush to double to bound the rounding error.
      for (int64_t b0 = r0; b0 < r1; b0 += 256) {
        std::fill(acc.begin(), acc.end(), 0.0f);
        for (int64_t r = b0; r < std::min(r1, b0 + 256); r++) row_fn(r, acc.data());
        for (int64_t j = 0; j < nacc * C; j++) dst[j] += acc[j];
      }
    }
  });
  for (int64_t j = 0; j < nacc * C; j++) {
    double t = 0;
    for (int c = 0; c < nt; c++) t += part[c * nacc * C + j];
    out[j] = static_cast<float>(t);
  }
}

// batchNormTrain(x, gamma|null, beta|null, y, mean, variance, C, eps): batch statistics over all rows of
// x [rows, C] (biased variance), y = (x − mean)·rsqrt(var + eps)·γ + β.
// y = (x − mean)·mul + add per channel, mul = γ·rstd and add = β: the batch-norm affine, computed the same
// way forward and backward so that a fused ReLU's mask is recomputed exactly (no mask kept in memory).
void bn_affine(const float* mean, const float* var, const float* g, const float* b, float eps, int64_t C, float* mul,
               float* add) {
  for (int64_t j = 0; j < C; j++) {
    const float rs = 1.0f / std::sqrt(var[j] + eps);
    mul[j] = rs * (g ? g[j] : 1.0f);
    add[j] = b ? b[j] : 0.0f;  // y = (x − mean)·mul + add, not x·mul + (β − mean·mul), which cancels when var ≈ 0
  }
}

// Σ d and Σ d² over one row, d = x − shift.
inline void bn_stats_row(int64_t C, const float* __restrict x, const float* __restrict shift, float* __restrict s1,
                         float* __restrict s2) {
  for (int64_t j = 0; j < C; j++) {
    const float d = x[j] - shift[j];
    s1[j] += d;
    s2[j] += d * d;
  }
}

Napi::Value BatchNormTrainOp(const Napi::CallbackInfo& info) {
  const Arr<float> x = f32(info, 0), g = f32_opt(info, 1), b = f32_opt(info, 2), y = f32(info, 3);
  const Arr<float> mean = f32(info, 4), var = f32(info, 5);
  const int64_t C = int_arg(info, 6, 1, kMaxDim), rows = y.n / C;
  float eps = dbl(info, 7);
  const bool relu = info.Length() > 8 && info[8].ToBoolean().Value();
  if (rows < 1) arg_fail("y must hold at least one row of C values");
  need(x, rows * C, "x");
  need_each(C, {{mean, "mean"}, {var, "variance"}});
  need_opt(g, C, "gamma");
  need_opt(b, C, "beta");
  // Mean and variance in one pass over x (BN is memory-bound: 3 passes instead of 4 with the normalisation),
  // as sums of d = x − shift and d², shifted by the first row so that var = E[d²] − E[d]² does not cancel.
  const std::vector<float> shift(x.p, x.p + C);
  std::vector<float> sums(2 * C);
  column_sums(rows, C, 2, sums.data(), [&](int64_t r, float* acc) {
    bn_stats_row(C, x + r * C, shift.data(), acc, acc + C);
  });
  for (int64_t j = 0; j < C; j++) {
    const double d = static_cast<double>(sums[j]) / static_cast<double>(rows);
    mean[j] = static_cast<float>(shift[j] + d);
    var[j] = static_cast<float>(std::max(0.0, static_cast<double>(sums[C + j]) / static_cast<double>(rows) - d * d));
  }
  std::vector<float> mul(C), add(C);
  bn_affine(mean, var, g, b, eps, C, mul.data(), add.data());
  const float lo = relu ? 0.0f : -INFINITY;  // ReLU as max(v, 0); max(v, −∞) = v keeps one branch-free loop
  parallel_for(rows, std::max<int64_t>(1, kGrain / C), [&](int64_t s, int64_t e) {
    for (int64_t r = s; r < e; r++) {
      const float* __restrict xr = x + r * C;
      float* __restrict yr = y + r * C;
      for (int64_t j = 0; j < C; j++) yr[j] = std::max((xr[j] - mean[j]) * mul[j] + add[j], lo);
    }
  });
  return info.Env().Undefined();
}

// One row of batch norm's backward reductions: Σ d·x̂ and Σ d, d = dy (masked by the fused ReLU when kRelu).
// Templates and restrict pointers keep the loops branch-free and vectorised.
template <bool kRelu>
inline void bn_grad_sums_row(int64_t C, const float* __restrict dy, const float* __restrict x,
                             const float* __restrict mean, const float* __restrict rs, const float* __restrict mul,
                             const float* __restrict add, float* __restrict accG, float* __restrict accB) {
  for (int64_t j = 0; j < C; j++) {
    float d = dy[j];
    if constexpr (kRelu) d = relu_grad(d, (x[j] - mean[j]) * mul[j] + add[j]);
    accG[j] += d * (x[j] - mean[j]) * rs[j];
    accB[j] += d;
  }
}

// One row of dx = k1·((d − k2) − k3·(x − mean)): d − dβ/M first, so that a channel of one row (or of equal dy)
// gives exactly 0, as the formula does, where k1·d − k1·dβ/M would leave k1·d's rounding.
template <bool kRelu>
inline void bn_grad_dx_row(int64_t C, const float* __restrict dy, const float* __restrict x,
                           const float* __restrict mean, const float* __restrict mul, const float* __restrict add,
                           const float* __restrict k1, const float* __restrict k2, const float* __restrict k3,
                           float* __restrict dx) {
  for (int64_t j = 0; j < C; j++) {
    float d = dy[j];
    if constexpr (kRelu) d = relu_grad(d, (x[j] - mean[j]) * mul[j] + add[j]);
    dx[j] = k1[j] * ((d - k2[j]) - k3[j] * (x[j] - mean[j]));
  }
}

// batchNormTrainGrad(dy, x, mean, variance, gamma|null, dx, dGamma, dBeta, C, eps, beta|null, relu):
// x̂ = (x − mean)·rstd; dγ = Σ dy·x̂; dβ = Σ dy; dx = γ·rstd·(dy − dβ/M − x̂·dγ/M). With relu (the forward was
// ReLU(BN(x))), dy is first masked where the recomputed pre-activation (x − mean)·mul + β was ≤ 0.
Napi::Value BatchNormTrainGradOp(const Napi::CallbackInfo& info) {
  const Arr<float> dy = f32(info, 0), x = f32(info, 1), mean = f32(info, 2), var = f32(info, 3);
  const Arr<float> g = f32_opt(info, 4), dx = f32(info, 5), dg = f32(info, 6), db = f32(info, 7);
  const Arr<float> b = f32_opt(info, 10);
  const int64_t C = int_arg(info, 8, 1, kMaxDim), rows = dy.n / C;
  float eps = dbl(info, 9);
  const bool relu = info.Length() > 11 && info[11].ToBoolean().Value();
  need_each(rows * C, {{x, "x"}, {dx, "dx"}});
  need_each(C, {{mean, "mean"}, {var, "variance"}, {dg, "dGamma"}, {db, "dBeta"}});
  need_opt(g, C, "gamma");
  need_opt(b, C, "beta");
  std::vector<float> rs(C), sums(2 * C), mul(C), add(C);
  for (int64_t j = 0; j < C; j++) rs[j] = 1.0f / std::sqrt(var[j] + eps);
  bn_affine(mean, var, g, b, eps, C, mul.data(), add.data());
  const float* m = mean;
  const float* r_ = rs.data();
  column_sums(rows, C, 2, sums.data(), [&](int64_t r, float* acc) {
    if (relu)
      bn_grad_sums_row<true>(C, dy + r * C, x + r * C, m, r_, mul.data(), add.data(), acc, acc + C);
    else
      bn_grad_sums_row<false>(C, dy + r * C, x + r * C, m, r_, mul.data(), add.data(), acc, acc + C);
  });
  std::vector<float> k1(C), k2(C), k3(C);
  float invM = 1.0f / static_cast<float>(rows);
  for (int64_t j = 0; j < C; j++) {
    dg[j] = sums[j];
    db[j] = sums[C + j];
    float gr = (g ? g[j] : 1.0f) * rs[j];
    k1[j] = gr;
    k2[j] = db[j] * invM;
    k3[j] = dg[j] * invM * rs[j];
  }
  parallel_for(rows, std::max<int64_t>(1, kGrain / C), [&](int64_t s, int64_t e) {
    for (int64_t r = s; r < e; r++) {
      if (relu)
        bn_grad_dx_row<true>(C, dy + r * C, x + r * C, m, mul.data(), add.data(), k1.data(), k2.data(), k3.data(),
                             dx + r * C);
      else
        bn_grad_dx_row<false>(C, dy + r * C, x + r * C, m, mul.data(), add.data(), k1.data(), k2.data(), k3.data(),
                              dx + r * C);
    }
  });
  return info.Env().Undefined();
}

// stridedCopy(src, dst, shape, srcStrides, dstStrides, srcOffset, dstOffset): dst[dOff + Σ i·ds] =
// src[sOff + Σ i·ss] over `shape` (rank <= 8). Used by Slice, PadV2 and Concat.
Napi::Value StridedCopyOp(const Napi::CallbackInfo& info) {
  const Arr<float> src = f32(info, 0), dst = f32(info, 1);
  const Arr<int32_t> shape = i32(info, 2), ss = i32(info, 3), ds = i32(info, 4);
  const int64_t soff = int_arg(info, 5, 0, 1LL << 52), doff = int_arg(info, 6, 0, 1LL << 52);
  shape_size(shape, 64, "shape");
  check_span(shape, ss, soff, src.n, "the source region");
  check_span(shape, ds, doff, dst.n, "the destination region");
  const int rank = static_cast<int>(shape.n);
  int64_t last = shape[rank - 1];
  int64_t rows = 1;
  for (int d = 0; d < rank - 1; d++) rows *= shape[d];
  int64_t sl = ss[rank - 1], dl = ds[rank - 1];
  parallel_for(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, last)), [&](int64_t s, int64_t e) {
    for (int64_t r = s; r < e; r++) {
      int64_t rem = r, so = soff, dof = doff;
      for (int d = rank - 2; d >= 0; d--) {
        int64_t idx = rem % shape[d];
        rem /= shape[d];
        so += idx * ss[d];
        dof += idx * ds[d];
      }
      if (sl == 1 && dl == 1)
        std::memcpy(dst + dof, src + so, last * sizeof(float));
      else
        for (int64_t j = 0; j < last; j++) dst[dof + j * dl] = src[so + j * sl];
    }
  });
  return info.Env().Undefined();
}

// fill(dst, value)
Napi::Value FillOp(const Napi::CallbackInfo& info) {
  const Arr<float> dst = f32(info, 0);
  const int64_t n = dst.n;
  float v = dbl(info, 1);
  parallel_for(n, kGrain * 4, [&](int64_t s, int64_t e) { std::fill(dst + s, dst + e, v); });
  return info.Env().Undefined();
}

}  // namespace

void register_elementwise(Napi::Env env, Napi::Object exports) {
  def(env, exports, "unary", UnaryOp, 3, 4);
  def(env, exports, "binary", BinaryOp, 7);
  def(env, exports, "reduce", ReduceOp, 6);
  def(env, exports, "transpose", TransposeOp, 4);
  def(env, exports, "softmax", SoftmaxOp, 5);
  def(env, exports, "causalSoftmax", CausalSoftmaxOp, 4);
  def(env, exports, "causalSoftmaxGrad", CausalSoftmaxGradOp, 5);
  def(env, exports, "gather", GatherOp, 6);
  def(env, exports, "segmentSum", SegmentSumOp, 5);
  def(env, exports, "batchNorm", BatchNormOp, 7, 8);
  def(env, exports, "tile", TileOp, 4);
  def(env, exports, "adamw", AdamWOp, 14);
  def(env, exports, "sgd", SgdOp, 10);
  def(env, exports, "stridedCopy", StridedCopyOp, 7);
  def(env, exports, "fill", FillOp, 2);
  def(env, exports, "combine", CombineOp, 7, 8);
  def(env, exports, "gelu", GeluOp, 2);
  def(env, exports, "batchNormTrain", BatchNormTrainOp, 8, 9);
  def(env, exports, "batchNormTrainGrad", BatchNormTrainGradOp, 10, 12);
  def(env, exports, "geluGrad", GeluGradOp, 3);
  def(env, exports, "layerNorm", LayerNormOp, 8);
  def(env, exports, "layerNormGrad", LayerNormGradOp, 9);
  def(env, exports, "combineGrad", CombineGradOp, 11, 12);
}

}  // namespace laurel
