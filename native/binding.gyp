{
  "variables": {
    "laurel_blas_include": "<!(node -p \"process.env.LAUREL_BLAS_INCLUDE || '/usr/include/' + (process.arch === 'arm64' ? 'aarch64' : 'x86_64') + '-linux-gnu/openblas-pthread'\")"
  },
  "targets": [
    {
      "target_name": "laurel_native",
      "sources": ["src/addon.cc", "src/pool.cc", "src/elementwise.cc", "src/conv.cc", "src/skinny.cc", "src/skinny_avx2.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "<(laurel_blas_include)"],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_DISABLE_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "<!@(node -p \"process.env.LAUREL_BLAS_DEFINES || ''\")"
      ],
      "cflags!": ["-fno-exceptions", "-O2", "-O0"],
      "cflags_cc!": ["-fno-exceptions", "-O2", "-O0", "-std=gnu++17"],
      "cflags": ["-O3", "-fno-math-errno", "-fno-trapping-math", "<!@(node -p \"process.env.LAUREL_CFLAGS || ''\")"],
      "cflags_cc": ["-O3", "-std=c++17", "-fno-math-errno", "-fno-trapping-math", "<!@(node -p \"process.env.LAUREL_CFLAGS || ''\")"],
      "ldflags": ["<!@(node -p \"process.env.LAUREL_LDFLAGS || ''\")"],
      "libraries": ["<!@(node -p \"process.env.LAUREL_BLAS_LIBS || '-lopenblas'\")", "-lpthread"],
      "conditions": [
        ["OS=='mac'", {
          "xcode_settings": {
            "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
            "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
            "MACOSX_DEPLOYMENT_TARGET": "11.0",
            "GCC_OPTIMIZATION_LEVEL": "3",
            "OTHER_CFLAGS": ["-fno-math-errno", "-fno-trapping-math"],
            "OTHER_LDFLAGS": ["<!@(node -p \"process.env.LAUREL_LDFLAGS || ''\")"]
          }
        }]
      ]
    }
  ]
}
