/* Loads a prebuilt addon the way Node would (dlopen) on its own
 * architecture, under qemu-user for a foreign one, and checks it registers an
 * N-API module: every library and glibc/libstdc++ symbol version it needs
 * resolves. Node's own functions (napi_*, uv_*) come from stubs the test
 * links into this program (-rdynamic); the addon's code is never run. */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  void *h = dlopen(argv[1], RTLD_LAZY | RTLD_LOCAL);
  if (!h) {
    printf("dlopen failed: %s\n", dlerror());
    return 1;
  }
  void *reg = dlsym(h, "napi_register_module_v1");
  printf("%s\n", reg ? "napi_register_module_v1 found" : "napi_register_module_v1 missing");
  return reg ? 0 : 1;
}
