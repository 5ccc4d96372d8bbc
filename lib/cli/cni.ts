#!/usr/bin/env node
// pipewright-cni: the CNI plugin executable (a runtime execs it by the
// configuration's "type": install it, or a link to it, as "pipewright" in
// CNI_PATH). It is `pipewright cni` (commands/cni.ts, a registry entry) run
// through the installed command's bundle and its V8 code cache (launch.ts,
// one cache per CNI verb): a runtime starts one process per call, and Node's
// start is most of a call's time.
process.argv.splice(2, process.argv.length - 2, 'cni');
require('./launch');
