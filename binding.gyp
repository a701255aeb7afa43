{
  "targets": [
    {
      "target_name": "stylegan_torch",
      "sources": ["native/addon.cc", "native/ops.cc", "native/autograd.cc", "native/grid.cc", "native/foreach.cc", "native/alloc.cc", "native/fused.cc", "native/layout.cc", "native/distributed.cc", "native/jit.cc", "native/fused-grad.cc", "native/reducer.cc", "native/pixel-norm.cc", "native/adam.cc", "native/tap-map.cc", "native/blur.cc", "native/conv-grad.cc", "native/to-uint8.cc"],
      "include_dirs": ["<!@(node -p \"require('node-addon-api').include_dir\")", "<!@(node native/find-libtorch.cjs include)", "native/compat"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "<!@(node native/find-libtorch.cjs defines)"],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++20"],
      # -ffp-contract=off: no fused multiply-adds the source does not ask for. GCC contracts a*b+c differently in a
      # vectorized loop and in its scalar fallback (taken when run-time alias checks fail, i.e. depending on where the
      # buffers happen to lie), which made kernels such as the fused epilogue differ in the last bit from call to call.
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-O2", "-ffp-contract=off", "-Wno-unused-parameter", "-Wno-deprecated-declarations"],
      "ldflags": ["<!@(node native/find-libtorch.cjs ldflags)"],
      "libraries": ["<!@(node native/find-libtorch.cjs libs)"]
    }
  ]
}
