// A directory on a small ext4 that has a journal (an image file, loop-mounted
// in the benchmark's own mount namespace), for the files the CNI plugins
// create per container: host-local's store and libcni's cache, which a host
// keeps under /var/lib/cni on its root filesystem.
// Why not the temporary directory: on a machine whose root ext4 has no
// journal (this project's test machines), the kernel skips recently freed
// inodes when it makes a file (find_inode_bit's recently_deleted, only
// without a journal), and after a pass that deleted hundreds of leases a
// create costs 0.1–2 ms of CPU scanning them. A host's journaled filesystem
// never pays that, and on two CPUs it takes from every plugin's time.
// Where loop devices are not to be had, the temporary directory is used and
// the report says so.
'use strict';

const { execFileSync } = require('node:child_process');
const { closeSync, mkdirSync, openSync, ftruncateSync, rmdirSync, rmSync } = require('node:fs');
const { join } = require('node:path');

const IMAGE_BYTES = 256 << 20; // sparse: holds 200 leases and caches many times over

/** Resolves { dir, fs, close() }: dir on a journaled ext4 when it can be had, else under parent (fs says which, and why). */
function journaledDir(parent) {
  const image = join(parent, 'store.img');
  const dir = join(parent, 'store');
  mkdirSync(dir);
  let made = false;
  try {
    const fd = openSync(image, 'wx', 0o600);
    made = true;
    try {
      ftruncateSync(fd, IMAGE_BYTES);
    } finally {
      closeSync(fd);
    }
    // Inode tables and journal written now, not by the kernel's lazy-init thread while the benchmark runs.
    execFileSync('mkfs.ext4', ['-q', '-F', '-O', 'has_journal', '-E', 'lazy_itable_init=0,lazy_journal_init=0', image], { stdio: ['ignore', 'ignore', 'pipe'] });
    execFileSync('mount', ['-o', 'loop', image, dir], { stdio: ['ignore', 'ignore', 'pipe'] });
    return { dir, fs: 'ext4 with a journal (loop-mounted image)', close: () => close(dir, image, true) };
  } catch (e) {
    if (made) rmSync(image, { force: true }); // only an image of ours: 'wx' refused one already there
    const why = String(e.stderr || e.message).trim().split('\n')[0];
    const fs = `${fsType(parent)} of the temporary directory (no journaled ext4 to be had: ${why})`;
    // Nothing mounted (the mount is the last step), no image left: a plain directory of ours.
    return { dir, fs, close: () => close(dir, null, false) };
  }
}

function close(dir, image, mounted) {
  if (mounted) {
    execFileSync('umount', [dir]); // the loop device goes with it (mount -o loop sets autoclear)
    rmdirSync(dir);
  } else rmSync(dir, { recursive: true, force: true });
  if (image) rmSync(image, { force: true });
}

function fsType(path) {
  try {
    return execFileSync('stat', ['-f', '-c', '%T', path], { encoding: 'utf8' }).trim();
  } catch {
    return 'the filesystem';
  }
}

module.exports = { journaledDir };
