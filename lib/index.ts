// The public surface of pipewright.
export { Netns, DEFAULT_RUN_DIR } from './netns';
export type { NetnsCreateOptions, NetnsDeleteOptions, NetnsRef, NamedNetns } from './netns';
export { Handle } from './handle';
export { Watcher } from './api/watch';
export type { WatchOptions } from './api/watch';
export { NetlinkError, PipewrightError, isNetlinkError } from './errors';
export type { PipewrightErrorCode } from './errors';
export * from './types';
export { ensureSandbox, inSandbox } from './sandbox';
export { attach, planAttach, AttachError } from './attach';
export type { AttachResult, PlanResult } from './attach';
export type { AttachSpec, DhcpSpec, DhcpClient } from './attach/spec';
export { PIPEWRIGHT_GROUP } from './attach/spec';
export { detach } from './attach/detach';
export type { DetachSpec, DetachResult } from './attach/detach';
export { resolveGuest } from './guest';
export type { GuestRef, ResolvedGuest } from './guest';
