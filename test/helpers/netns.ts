/**
 * "Remote machines" for tests: network namespaces made with ip netns, each with a veth pair to
 * the host and a private subnet (10.<base+i>.<tag>.0/24: the host at .1, the machine at .2),
 * and `openbatch agent` started inside one. The link can be cut (down) or made to drop
 * everything silently (iptables in the namespace), as a network partition would. Where
 * namespaces cannot be made (not root, no iproute2, no CAP_NET_ADMIN) `make()` says why.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { CLI, tempDir } from './server.js';

export interface Machine {
  ns: string;
  hostIf: string;
  nsIf: string;
  /** the first three octets: the host is <subnet>.1, the machine <subnet>.2 */
  subnet: string;
}

export function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

export class NetnsMachines {
  readonly machines: Machine[];
  private made = false;

  /** `base`: the second octet of the first machine's subnet (files running at once use different ones). */
  constructor(count: number, base: number) {
    const tag = (process.pid % 200) + 20;
    this.machines = Array.from({ length: count }, (_, i) => ({
      ns: `obt${process.pid}m${i}`,
      hostIf: `obh${process.pid % 100000}${i}`,
      nsIf: `obn${process.pid % 100000}${i}`,
      subnet: `10.${base + i}.${tag}`,
    }));
  }

  /** Makes the namespaces (every machine reaches the first one's host address); answers why not when it cannot. */
  make(): string | undefined {
    if (process.getuid?.() !== 0) return 'network namespaces need root (ip netns add); run as root to include this test';
    try {
      execFileSync('ip', ['-V'], { stdio: 'ignore' });
    } catch {
      return 'iproute2 is not installed (scripts/ci/netns.sh installs it)';
    }
    try {
      for (const m of this.machines) {
        ip('netns', 'add', m.ns);
        ip('link', 'add', m.hostIf, 'type', 'veth', 'peer', 'name', m.nsIf);
        ip('link', 'set', m.nsIf, 'netns', m.ns);
        ip('addr', 'add', `${m.subnet}.1/24`, 'dev', m.hostIf);
        ip('link', 'set', m.hostIf, 'up');
        ip('-n', m.ns, 'addr', 'add', `${m.subnet}.2/24`, 'dev', m.nsIf);
        ip('-n', m.ns, 'link', 'set', m.nsIf, 'up');
        ip('-n', m.ns, 'link', 'set', 'lo', 'up');
        // The others reach the server on the first machine's host address through their own veth.
        if (m !== this.machines[0]) ip('-n', m.ns, 'route', 'add', `${this.machines[0].subnet}.0/24`, 'via', `${m.subnet}.1`);
      }
      this.made = true;
      return undefined;
    } catch (e) {
      this.remove();
      return `network namespaces cannot be made here: ${((e as { stderr?: Buffer }).stderr?.toString() || (e as Error).message).trim()}`;
    }
  }

  remove(): void {
    for (const m of this.machines) {
      for (const args of [['link', 'del', m.hostIf], ['netns', 'del', m.ns]]) {
        try {
          ip(...args);
        } catch {
          // not made, or gone with its namespace
        }
      }
    }
    this.made = false;
  }

  /** The machine's link down (its veth's host end), or up again. */
  link(m: Machine, up: boolean): void {
    ip('link', 'set', m.hostIf, up ? 'up' : 'down');
  }

  /** Every packet the machine sends dropped without a word (a partition that looks like a silent peer), or no longer. */
  silence(m: Machine, on: boolean): void {
    execFileSync('ip', ['netns', 'exec', m.ns, 'iptables', on ? '-I' : '-D', 'OUTPUT', '-j', 'DROP'], { stdio: ['ignore', 'ignore', 'pipe'] });
  }

  /** `openbatch agent` inside the machine, joining `ce` over its route to the server; resolves with its instance id. */
  startAgent(m: Machine, o: { server: string; ce: string; token: string; vcpus?: number; dirs: string[]; children: ChildProcess[] }): Promise<{ child: ChildProcess; instanceId: string }> {
    const workDir = tempDir('openbatch-netns-agent-');
    o.dirs.push(workDir);
    const child = spawn('ip', ['netns', 'exec', m.ns, process.execPath, CLI, 'agent', '--server', o.server, '--ce', o.ce, '--vcpus', String(o.vcpus ?? 1), '--memory', '512', '--work-dir', workDir], {
      env: { ...process.env, OPENBATCH_AGENT_TOKEN: o.token },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    o.children.push(child);
    return new Promise((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        const found = /as instance (i-[0-9a-f]+)/.exec(out);
        if (found) resolve({ child, instanceId: found[1] });
      });
      child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
      child.once('exit', (code, signal) => reject(new Error(`agent in ${m.ns} exited with ${signal ?? code}: ${out}`)));
    });
  }

  get ready(): boolean {
    return this.made;
  }
}
