// The shapes the reproduction scenarios return and the report is made of.
// Numbers stay numbers (the JSON report is for machines); every side carries
// a one-line summary for people.

/** One side of a scenario: what the old way (or pipewright) produced. */
export interface Side {
  summary: string;
  [metric: string]: string | number | boolean | string[] | Record<string, unknown> | undefined;
}

/** One thing a scenario asserts; the scenario passes when every check holds. */
export interface Check {
  what: string;
  ok: boolean;
}

export interface ScenarioResult {
  /** Stable id, as given to `pipewright repro NAME`. */
  name: string;
  /** The field note it replays. */
  title: string;
  /** What was done, in order, for a person reading the report. */
  done: string[];
  oldWay: Side;
  pipewright: Side;
  pass: boolean;
  checks: Check[];
  /** A variant that could not run here, and the concrete reason. */
  skipped?: string[];
  details: Record<string, unknown>;
  durationMs: number;
  /** Set when the scenario itself crashed or timed out (then pass is false). */
  error?: string;
}

export interface ReproReport {
  ok: boolean;
  startedAt: string;
  durationMs: number;
  host: { kernel: string; iproute2: string; node: string; brctl: string | null };
  scenarios: ScenarioResult[];
}

export interface ScenarioOptions {
  /** Upper bound for the whole scenario; it fails (and cleans up) past it. */
  timeoutMs: number;
}

export interface Scenario {
  name: string;
  title: string;
  /** Field-notes section it replays. */
  section: number;
  run(opts: ScenarioOptions): Promise<Omit<ScenarioResult, 'durationMs' | 'pass'> & { pass?: boolean }>;
}
