// Convolution and pooling kernels (NHWC): im2col + OpenBLAS sgemm.
#include "common.h"

namespace laurel {
void register_conv(Napi::Env env, Napi::Object exports) {}
}  // namespace laurel
