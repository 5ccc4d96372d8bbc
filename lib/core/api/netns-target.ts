// Turns a NetnsTarget (a Netns, or {pid}) into the addon's arguments.
import { Netns } from '../netns';
import type { NetnsTarget } from '../types';
import * as v from '../validate';
import { invalidArgument } from '../errors';

export function netnsArgs(field: string, target: NetnsTarget | undefined): { netnsFd?: number; netnsPid?: number } {
  if (target === undefined) return {};
  if (target instanceof Netns) return { netnsFd: target.fd };
  if (typeof target === 'object' && target !== null && 'pid' in target) return { netnsPid: v.uint(`${field}.pid`, target.pid, 1, 0x3fffffff) };
  throw invalidArgument(field, target, 'must be a Netns or {pid}');
}
