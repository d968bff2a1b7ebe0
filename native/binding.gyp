{
  "variables": {
    "laurel_blas_include": "<!(node -p \"process.env.LAUREL_BLAS_INCLUDE || '/usr/include/x86_64-linux-gnu/openblas-pthread'\")"
  },
  "targets": [
    {
      "target_name": "laurel_native",
      "sources": ["src/addon.cc", "src/pool.cc", "src/elementwise.cc", "src/conv.cc", "src/skinny.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "<(laurel_blas_include)"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions", "-O2", "-O0"],
      "cflags_cc!": ["-fno-exceptions", "-O2", "-O0", "-std=gnu++17"],
      "cflags": ["-O3", "-fno-math-errno", "-fno-trapping-math", "<!@(node -p \"process.env.LAUREL_SIMD_FLAGS || ''\")"],
      "cflags_cc": ["-O3", "-std=c++17", "-fno-math-errno", "-fno-trapping-math", "<!@(node -p \"process.env.LAUREL_SIMD_FLAGS || ''\")"],
      "libraries": ["-lopenblas", "-lpthread"]
    }
  ]
}
