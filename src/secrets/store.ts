/**
 * The local secret store behind a job definition's `secrets` ({name, valueFrom}): where AWS
 * Batch reads Secrets Manager or SSM Parameter Store, openbatch reads
 *
 *   1. the JSON file of the server setting `secretsFile` ({"<key>": "<value>", …}), re-read
 *      when it changes, then
 *   2. the server's environment: OPENBATCH_SECRET_<key>, with every character of the key
 *      that is not a letter, digit or underscore written as `_`.
 *
 * `valueFrom` may be a plain name or an AWS ARN. Keys are tried in order: the whole
 * valueFrom, then the name inside the ARN (Secrets Manager: `…:secret:<name>`, without a
 * `:json-key:…` suffix, whose JSON key is then picked from the value; SSM: `…:parameter/<name>`,
 * with and without its leading `/`). Values are injected into the job's environment at the
 * moment an attempt is handed to an agent, never stored with the job, so DescribeJobs, the
 * job's log stream and the server's log never hold them.
 */
import { readFileSync, statSync } from 'node:fs';

export class SecretStore {
  private cache: { mtimeMs: number; values: Record<string, string> } | undefined;

  constructor(
    private readonly file: string,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  private fileValues(): Record<string, string> {
    if (!this.file) return {};
    let mtimeMs: number;
    try {
      mtimeMs = statSync(this.file).mtimeMs;
    } catch (e) {
      throw new Error(`the secrets file cannot be read (${(e as NodeJS.ErrnoException).code})`);
    }
    if (this.cache?.mtimeMs !== mtimeMs) {
      const parsed = JSON.parse(readFileSync(this.file, 'utf8')) as unknown;
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('the secrets file must hold a JSON object of names to values');
      const values: Record<string, string> = {};
      for (const [k, v] of Object.entries(parsed)) values[k] = typeof v === 'string' ? v : JSON.stringify(v);
      this.cache = { mtimeMs, values };
    }
    return this.cache.values;
  }

  private lookup(key: string): string | undefined {
    const v = this.fileValues()[key];
    if (v !== undefined) return v;
    return this.env['OPENBATCH_SECRET_' + key.replace(/[^A-Za-z0-9_]/g, '_')];
  }

  /** The value for `valueFrom`; throws an Error saying what was looked for when there is none. */
  resolve(valueFrom: string): string {
    const tried: string[] = [valueFrom];
    let jsonKey: string | undefined;
    const sm = /^arn:[^:]+:secretsmanager:[^:]*:[^:]*:secret:([^:]+)(?::([^:]*))?/.exec(valueFrom);
    const ssm = /^arn:[^:]+:ssm:[^:]*:[^:]*:parameter\/?(.+)$/.exec(valueFrom);
    if (sm) {
      tried.push(sm[1]);
      jsonKey = sm[2] || undefined;
    } else if (ssm) tried.push(ssm[1], '/' + ssm[1]);
    for (const key of tried) {
      const v = this.lookup(key);
      if (v === undefined) continue;
      if (!jsonKey) return v;
      try {
        const picked = (JSON.parse(v) as Record<string, unknown>)[jsonKey];
        if (picked !== undefined) return typeof picked === 'string' ? picked : JSON.stringify(picked);
      } catch {
        // not JSON: fall through to the error
      }
      throw new Error(`secret ${key} has no JSON key ${jsonKey}`);
    }
    throw new Error(`no secret ${tried.map((t) => `'${t}'`).join(' or ')} in the secret store (secretsFile or OPENBATCH_SECRET_* of the server)`);
  }
}
