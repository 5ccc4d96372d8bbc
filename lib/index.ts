// The public surface of pipewright: what README's library section documents.
// Self-sandboxing for examples and benchmarks is 'pipewright/sandbox'; the
// forensics and the reproductions are 'pipewright/forensics' and
// 'pipewright/repro' (package.json "exports").
export { Netns } from './core/netns';
export type { NetnsCreateOptions, NetnsDeleteOptions, NetnsRef, NamedNetns } from './core/netns';
export { Handle } from './core/handle';
export { Watcher } from './core/api/watch';
export type { WatchOptions } from './core/api/watch';
export { NetlinkError, PipewrightError, isNetlinkError } from './core/errors';
export type { PipewrightErrorCode } from './core/errors';
export * from './core/types';
export { attach, planAttach, AttachError } from './ops/attach';
export type { AttachResult, PlanResult } from './ops/attach';
export type { AttachSpec, DhcpSpec, DhcpClient } from './ops/attach/spec';
export { PIPEWRIGHT_GROUP } from './ops/ownership/marks';
export { detach } from './ops/attach/detach';
export type { DetachSpec, DetachResult } from './ops/attach/detach';
export type { GuestRef } from './ops/guest';
