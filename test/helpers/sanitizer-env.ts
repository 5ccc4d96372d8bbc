// The sanitizer run's variables (scripts/asan.sh), for the programs a test
// starts with an environment of its own making (a CNI plugin gets nothing
// of its caller's but PATH): with them the program loads the sanitized
// addon and keeps leak checking off, as every other process of the run does.
// Empty outside that run.
const NAMES = ['PW_ADDON_PATH', 'ASAN_OPTIONS', 'UBSAN_OPTIONS'] as const;

export function sanitizerEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of NAMES) if (process.env[k] !== undefined) out[k] = process.env[k]!;
  return out;
}
