{
  "targets": [
    {
      "target_name": "pipewright",
      "sources": [
        "native/addon.cc",
        "native/addon_state.cc",
        "native/addr.cc",
        "native/args.cc",
        "native/arp.cc",
        "native/dispatch.cc",
        "native/engine_listener.cc",
        "native/errors.cc",
        "native/events.cc",
        "native/executor.cc",
        "native/run_times.cc",
        "native/file_lock.cc",
        "native/firewall.cc",
        "native/js_error.cc",
        "native/js_value.cc",
        "native/json.cc",
        "native/link.cc",
        "native/link_kinds.cc",
        "native/locked_dir.cc",
        "native/store_file_cache.cc",
        "native/message.cc",
        "native/neigh.cc",
        "native/netns.cc",
        "native/netns_dir.cc",
        "native/fd_path.cc",
        "native/ns_handle.cc",
        "native/netns_cookie.cc",
        "native/ns_thread.cc",
        "native/op_table_gen.cc",
        "native/ops.cc",
        "native/route.cc",
        "native/route_socket.cc",
        "native/rule.cc",
        "native/socket.cc",
        "native/state_dir.cc",
        "native/state_file.cc",
        "native/value.cc",
        "native/worker.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-fvisibility=hidden", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"],
      "conditions": [
        ["OS=='linux' and '<!(echo $PW_SANITIZE)'!=''", {
          "cflags_cc": ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-g"],
          "ldflags": ["-fsanitize=address,undefined"]
        }]
      ]
    },
    {
      "target_name": "pipewright-fast",
      "type": "executable",
      "sources": ["native/client/pipewright_fast.cc", "native/client/frames.cc"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra"],
      "ldflags": ["-static", "-Wl,-z,relro,-z,now"]
    }
  ]
}
