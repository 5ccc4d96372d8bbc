// The CNI plugin with a failpoint, for the crash-mid-ADD case: the library
// reads no failpoint from its environment (tests set one through
// setFailpoint), so this test program turns PIPEWRIGHT_FAILPOINT (and
// PIPEWRIGHT_FAILPOINT_ACTION=kill) into one, then runs `pipewright cni` from
// the compiled modules — not the bundle, which has its own copy of them.
'use strict';
const { failAt, setFailpoint } = require('../../dist/lib/ops/transaction');
const { main } = require('../../dist/lib/cli/main');
const { runAsProcess } = require('../../dist/lib/cli/process-entry');

setFailpoint(failAt(process.env.PIPEWRIGHT_FAILPOINT, process.env.PIPEWRIGHT_FAILPOINT_ACTION === 'kill' ? 'kill' : 'fail'));
process.argv.splice(2, process.argv.length - 2, 'cni');
runAsProcess(main);
