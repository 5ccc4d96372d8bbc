// The libcni test driver (test/cni/driver/main.go), built once per source
// change by test/cni/driver/build.js (shared with bench/cni.js).
import { buildDriver, driverUnavailable } from '../cni/driver/build';

export { driverUnavailable };

let built: Promise<string> | null = null;

/** The driver's path, building it first if this source was never built. */
export function driverPath(): Promise<string> {
  built ??= buildDriver();
  return built;
}
