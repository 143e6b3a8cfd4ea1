{
  "targets": [
    {
      "target_name": "tg_kernels_avx2",
      "type": "static_library",
      "sources": ["native/kernels/scan_avx2.cc", "native/kernels/transform_avx2.cc"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-O3", "-ffp-contract=off", "-fPIC", "-fexceptions"],
      "conditions": [["target_arch=='x64'", {"cflags_cc": ["-mavx2", "-mfma", "-falign-functions=64"]}]]
    },
    {
      "target_name": "tirex_guardian",
      "dependencies": ["tg_kernels_avx2"],
      "sources": [
        "native/addon.cc",
        "native/audit/sha256.cc",
        "native/bindings/async_run.cc",
        "native/bindings/audit_binding.cc",
        "native/bindings/kernels_binding.cc",
        "native/bindings/session_binding.cc",
        "native/bindings/staging.cc",
        "native/common/errors.cc",
        "native/common/views.cc",
        "native/kernels/cpu.cc",
        "native/kernels/forecast_check.cc",
        "native/kernels/impute.cc",
        "native/kernels/quantiles.cc",
        "native/kernels/recent.cc",
        "native/kernels/scan_scalar.cc",
        "native/kernels/transform_scalar.cc",
        "native/ort/runner.cc",
        "native/ort/runtime.cc",
        "native/ort/session.cc",
        "native/ort/status.cc",
        "native/ort/watchdog.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!(node scripts/ort-headers.js)"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS", "NODE_ADDON_API_CPP_EXCEPTIONS_ALL"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-O3", "-ffp-contract=off", "-fexceptions", "-fvisibility=hidden"],
      "libraries": ["-ldl", "-pthread"],
      "ldflags": ["-Wl,-z,nodelete"]
    }
  ]
}
