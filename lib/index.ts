// The public surface of pipewright.
export { Netns, DEFAULT_RUN_DIR } from './netns';
export type { NetnsCreateOptions, NetnsRef, NamedNetns } from './netns';
export { Handle } from './handle';
export { Watcher } from './api/watch';
export type { WatchOptions } from './api/watch';
export { NetlinkError, PipewrightError, isNetlinkError } from './errors';
export type { PipewrightErrorCode } from './errors';
export * from './types';
export { ensureSandbox, inSandbox } from './sandbox';
