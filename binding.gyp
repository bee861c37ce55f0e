{
  # node-gyp build of the addon (used by prebuildify and by `node-gyp-build` when a user installs
  # without a matching prebuild). Same sources and libtorch settings as CMakeLists.txt.
  "targets": [
    {
      "target_name": "torch_losses",
      "sources": ["<!@(node scripts/native-sources.js)"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node scripts/find-libtorch.js --gyp-include)"
      ],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED",
                  "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-O3", "-fopenmp-simd", "-Wno-unused-parameter",
                    "<!@(node scripts/find-libtorch.js --gyp-cflags)"],
      "libraries": ["<!@(node scripts/find-libtorch.js --gyp-libs)"]
    }
  ]
}
