// The resident engine (issue 15): a process that serves pipewright command
// lines on a unix socket (server.ts, protocol.ts) and keeps the attachments
// it follows as they were made (reconcile.ts). Engine.connect() (client.ts)
// is its client for library users.
export { EngineServer } from './server';
export type { ServerOptions, Session } from './server';
export { Reconciler } from './reconcile';
export { portProblems, isFight, FIGHT_REPAIRS, FIGHT_WINDOW_MS } from './port-rules';
export type { Incident, TrackedPort } from './port-rules';
export { Engine, EngineRefusal } from './client';
export type { EngineReply, RunOptions, ConnectOptions } from './client';
export { defaultSocketPath, ENGINE_DIR, engineLockName } from './paths';
export { answers } from './socket-path';
export { takeOverFromPredecessor, engineRecordName } from './predecessor';
export { PROTOCOL_VERSION, PROTOCOL_VERSION_OWN_ENV, FRAME, FrameReader, encodeFrame, parseRequest } from './protocol';
export type { CliRequest, Request } from './protocol';
