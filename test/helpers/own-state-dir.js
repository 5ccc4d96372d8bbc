// Loaded before every test file (.taprc, node-arg): each test file gets a
// state directory of its own inside the sandbox's (PW_STATE_DIR), so that
// files run side by side never see each other's journal entries, records
// or locks. A journal entry left by one file (an attachment a test leaves
// to gc, say) could otherwise match what another file looks for. The
// processes a test starts inherit the variable, so they share its file's
// directory. Outside the sandbox (unit tests run alone) nothing changes.
'use strict';
const { mkdirSync } = require('node:fs');
const { basename, join } = require('node:path');

const shared = process.env.PW_STATE_DIR;
if (process.env.PW_SANDBOXED === '1' && shared && !process.env.PW_TEST_OWN_STATE_DIR) {
  // Short: unix socket paths under it must stay within 108 bytes.
  const file = basename(process.argv[1] || 'test').replace(/\.test\.[cm]?[jt]s$/, '').slice(0, 24);
  const dir = join(shared, `${file}.${process.pid}`);
  mkdirSync(dir, { mode: 0o755 });
  process.env.PW_STATE_DIR = dir;
  process.env.PW_TEST_OWN_STATE_DIR = dir;
}
