/**
 * The CLI and `npm start` under a real terminal (tmux), where what a person sees differs
 * from a pipe: shell completion in bash and zsh, `submit --wait` redrawing why the job waits,
 * and the server's logs as readable lines rather than JSON.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { waitForStatus } from '../helpers/fixtures.js';
import { CLI, sharedDir, startTestServer, tempDir, type TestServer } from '../helpers/server.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const has = (program: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

/** A tmux server of its own with one window: type into it, read its screen. */
class Terminal {
  private static n = 0;
  readonly socket = `openbatch-test-${process.pid}-${Terminal.n++}`;

  constructor(env: Record<string, string>, command: string[]) {
    // Through env(1): tmux's own -e does not get PATH past the server's environment.
    const vars = Object.entries(env).map(([k, v]) => `${k}=${v}`);
    // stdio ignored: the tmux server it starts would hold a pipe open, and the call wait on it.
    execFileSync('tmux', ['-L', this.socket, '-f', '/dev/null', 'new-session', '-d', '-x', '200', '-y', '50', 'env', ...vars, ...command], { stdio: 'ignore' });
  }

  /** Keys as tmux names them ('Tab', 'Enter', 'C-c') or literal text. */
  keys(...keys: string[]): void {
    execFileSync('tmux', ['-L', this.socket, 'send-keys', ...keys]);
  }

  type(text: string): void {
    execFileSync('tmux', ['-L', this.socket, 'send-keys', '-l', '--', text]);
  }

  screen(): string {
    return execFileSync('tmux', ['-L', this.socket, 'capture-pane', '-p', '-J'], { encoding: 'utf8' });
  }

  async waitFor(what: RegExp, timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = this.screen();
      if (what.test(s)) return s;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} on the screen:\n${s}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  close(): void {
    try {
      execFileSync('tmux', ['-L', this.socket, 'kill-server'], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
}

describe('the CLI in a terminal', { skip: !has('tmux') && 'tmux is not installed (scripts/ci/terminal.sh installs it)' }, () => {
  let t: TestServer;
  let bin: string;
  /** gates jobs wait for: a directory they may read (a root agent runs them as nobody) */
  let gates: string;
  let env: Record<string, string>;
  const terminals: Terminal[] = [];
  const open = (command: string[]) => {
    const term = new Terminal(env, command);
    terminals.push(term);
    return term;
  };

  before(async () => {
    t = await startTestServer();
    bin = tempDir('openbatch-term-bin-');
    gates = sharedDir('openbatch-term-gates-');
    // `openbatch` on PATH, as after an install: completion scripts call it by name.
    writeFileSync(join(bin, 'openbatch'), `#!/bin/sh\nexec '${process.execPath}' '${CLI}' "$@"\n`);
    chmodSync(join(bin, 'openbatch'), 0o755);
    env = { PATH: `${bin}:${process.env.PATH}`, OPENBATCH_ENDPOINT: t.url, TERM: 'xterm-256color', HOME: bin, NO_COLOR: '1' };
    // Not execFileSync: the server runs in this process and must answer meanwhile.
    await run(process.execPath, [CLI, 'init'], { env: { ...process.env, ...env } });
  });
  after(async () => {
    for (const term of terminals) term.close();
    await t.close();
    rmSync(bin, { recursive: true, force: true });
    rmSync(gates, { recursive: true, force: true });
  });

  test('bash completes commands, options, statuses and the server’s queue names', async () => {
    const term = open(['bash', '--norc', '--noprofile']);
    term.type('PS1="$ "; source <(openbatch completion bash)');
    term.keys('Enter', 'C-l');
    term.type('openbatch descr');
    term.keys('Tab');
    await term.waitFor(/^\$ openbatch describe $/m);
    term.keys('C-u');
    term.type('openbatch jobs --status RUNNA');
    term.keys('Tab');
    await term.waitFor(/^\$ openbatch jobs --status RUNNABLE $/m);
    term.type('--queue de');
    term.keys('Tab');
    await term.waitFor(/^\$ openbatch jobs --status RUNNABLE --queue default $/m);
  });

  test('zsh completes commands and options', { skip: !has('zsh') && 'zsh is not installed' }, async () => {
    const term = open(['zsh', '-f']);
    term.type('PS1="%% "; autoload -U compinit && compinit -u; source <(openbatch completion zsh)');
    term.keys('Enter', 'C-l');
    term.type('openbatch rerun-f');
    term.keys('Tab');
    await term.waitFor(/^% openbatch rerun-failed $/m);
    term.type('--with-dep');
    term.keys('Tab');
    await term.waitFor(/^% openbatch rerun-failed --with-dependents $/m);
  });

  test('submit --wait redraws why the job waits in place, then ends with its outcome', async () => {
    const gate = join(gates, 'gate');
    const hog = (await run(process.execPath, [CLI, 'submit', '-n', 'hog', '--vcpus', String(availableParallelism()), '--', 'sh', '-c', `while [ ! -e ${gate} ]; do sleep 0.05; done`], { env: { ...process.env, ...env } })).stdout.trim();
    await waitForStatus(t.client, hog, ['RUNNING']);
    const term = open(['sh', '-c', 'openbatch submit -n patient --wait; echo "exit=$?"; sleep 600']);
    // why's account of the capacity: what holds it (the hog's instance), not a count of vCPUs
    const waiting = await term.waitFor(/^ {2}waiting: CE default is at its maxvCpus \d+: CE default's busy instance i-\w+ \(.*running 1 job of queue default .*\) \[NO_CAPACITY\]$/m);
    // One line for the reason, drawn over itself: no pile of repeated reasons.
    assert.equal(waiting.match(/waiting:/g)?.length, 1, waiting);
    writeFileSync(gate, '');
    const done = await term.waitFor(/^exit=0$/m);
    assert.match(done, /^\d\d:\d\d:\d\d {2}RUNNABLE$/m);
    assert.match(done, /^job patient \(\S+\) SUCCEEDED \(exit 0\)$/m);
  });

  test('npm start writes readable log lines to a terminal, and Ctrl-C stops it', async () => {
    const data = join(bin, 'npm-start-data');
    // An interactive shell, as a person's: Ctrl-C goes to the job it runs, not to the shell.
    const term = open(['bash', '--norc', '--noprofile']);
    term.type(`PS1="$ "; cd '${ROOT}' && npm start -- --port 0 --data-dir '${data}'; echo "exit=$?"`);
    term.keys('Enter');
    const s = await term.waitFor(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}openbatch listening on http:\/\/127\.0\.0\.1:\d+/m);
    assert.doesNotMatch(s, /"level":/, 'no JSON on a terminal');
    term.keys('C-c');
    await term.waitFor(/^exit=\d+$/m);
  });
});
