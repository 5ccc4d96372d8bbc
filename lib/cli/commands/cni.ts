// `pipewright cni`: the CNI plugin (lib/ops/cni) for this process. A runtime
// passes no arguments: the verb and the container come in CNI_* variables,
// the network configuration on stdin. Nothing but the result (or the spec's
// error JSON) goes to stdout; logs go to stderr only with "verbose": true.
// Run by the engine (the native client as the plugin), the environment and
// stdin are the calling client's (io.env, io.readStdin), never the engine's.
import type { CommandContext } from '../registry';

function readStdin(): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    process.stdin.on('data', (c: Buffer) => chunks.push(c));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', reject);
  });
}

export async function run({ io }: CommandContext): Promise<number> {
  const env = io.env ?? process.env;
  // The plugin's code loads after stdin is read: a VERSION call pays for little.
  const stdin = io.readStdin ? io.readStdin() : env.CNI_COMMAND === 'VERSION' && process.stdin.isTTY ? '' : await readStdin();
  const { runPlugin } = await import('../../ops/cni/plugin');
  const out = await runPlugin(env, stdin);
  if (out.stdout) io.stdout.write(out.stdout);
  for (const l of out.log) io.stderr.write(`pipewright-cni: ${l}\n`);
  // The answer is out; what goes on after it (ADD's announcement) finishes
  // in the engine's background, or here before the process exits.
  if (out.after) {
    if (io.afterAnswer) io.afterAnswer(out.after);
    else for (const l of await out.after) if (out.verbose) io.stderr.write(`pipewright-cni: ${l}\n`);
  }
  return out.exitCode;
}
