/** The libcni driver's path, built (offline, cached by source hash) when needed. */
export function buildDriver(): Promise<string>;
/** Why the driver cannot be built here, or null when it can. */
export function driverUnavailable(): string | null;
