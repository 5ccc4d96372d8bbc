// pipewright as a CNI plugin (spec 1.1.0; configurations of 0.3.0 to 1.1.0).
export { runPlugin } from './plugin';
export type { PluginOutput } from './plugin';
export { parseConfig } from './config';
export type { NetConf } from './config';
export { parseResult, renderResult } from './result';
export type { CniResult } from './result';
export { CniError, CNI_ERR, PW_ERR } from './errors';
export { SUPPORTED_VERSIONS } from './version';
export { hostEndName, ownerTag } from './names';
