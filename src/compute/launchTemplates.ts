/**
 * Launch templates: what an instance gets when it starts, named in server configuration
 * (`launchTemplates`) and selected by a compute environment's `launchTemplate`
 * (launchTemplateName or launchTemplateId, and version) as AWS Batch selects an EC2 launch
 * template.
 *
 *   bootstrap    a shell script run (sh -c) on the instance before its agent starts — like
 *                EC2 user data. A non-zero exit (or running past bootstrapTimeoutSeconds)
 *                fails the instance: it is TERMINATED with the reason `bootstrap failed: …`
 *                and takes no work.
 *   environment  variables every job on the instance gets (the job's own win).
 *   mounts       host paths each job sees in its working directory: {sourcePath,
 *                containerPath}, containerPath relative (`data` → ./data). A missing
 *                sourcePath fails the bootstrap.
 *
 * A template has one version (default "1"); a CE may ask for it by number, `$Default` or
 * `$Latest`. The table is checked once, at server start, with messages that name the entry.
 */
import { resolve } from 'node:path';
import { clientError } from '../model/errors.js';

export interface Mount {
  sourcePath: string;
  containerPath: string;
}

export interface LaunchTemplate {
  launchTemplateName: string;
  launchTemplateId: string;
  version: string;
  bootstrap?: string;
  environment: Record<string, string>;
  mounts: Mount[];
  bootstrapTimeoutSeconds: number;
}

/** What an instance records about the template applied to it. */
export interface AppliedTemplate {
  launchTemplateName: string;
  launchTemplateId: string;
  version: string;
}

const NAME = /^[A-Za-z0-9().\/_-]{3,128}$/;
const ID = /^lt-[0-9a-f]{1,17}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function fail(path: string, rule: string): never {
  throw new Error(`launchTemplates${path} ${rule}`);
}

/** A stable id for a template that gives none: lt- and 17 hex digits of its name. */
function idFor(name: string): string {
  let h = 0xcbf29ce484222325n;
  for (const c of Buffer.from(name)) h = BigInt.asUintN(64, (h ^ BigInt(c)) * 0x100000001b3n);
  return 'lt-' + h.toString(16).padStart(16, '0').slice(0, 16) + '0';
}

/** Parses and checks the `launchTemplates` setting; throws an Error naming the bad entry. */
export function parseLaunchTemplates(raw: unknown, dataDir?: string): LaunchTemplate[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) fail('', 'must be a JSON list of templates ({"launchTemplateName": …, "bootstrap": …})');
  const out: LaunchTemplate[] = [];
  raw.forEach((entry: unknown, i) => {
    const at = `[${i}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) fail(at, 'must be an object');
    const e = entry as Record<string, unknown>;
    const known = ['launchTemplateName', 'launchTemplateId', 'version', 'bootstrap', 'environment', 'mounts', 'bootstrapTimeoutSeconds'];
    for (const k of Object.keys(e)) if (!known.includes(k)) fail(`${at}.${k}`, `is not a launch template setting: use ${known.join(', ')}`);
    const name = e.launchTemplateName;
    if (typeof name !== 'string' || !NAME.test(name)) fail(`${at}.launchTemplateName`, 'is required: 3-128 letters, digits and ( ) . / _ -');
    const id = e.launchTemplateId ?? idFor(name);
    if (typeof id !== 'string' || !ID.test(id)) fail(`${at}.launchTemplateId`, "must look like lt-0123456789abcdef0 ('lt-' and up to 17 hex digits)");
    const version = e.version === undefined ? '1' : String(e.version);
    if (!/^[1-9][0-9]*$/.test(version)) fail(`${at}.version`, `must be a version number such as 1 (got '${version}')`);
    if (e.bootstrap !== undefined && typeof e.bootstrap !== 'string') fail(`${at}.bootstrap`, 'must be a shell script (a string)');
    const environment: Record<string, string> = {};
    if (e.environment !== undefined) {
      if (typeof e.environment !== 'object' || e.environment === null || Array.isArray(e.environment)) fail(`${at}.environment`, 'must be an object of NAME: value');
      for (const [k, v] of Object.entries(e.environment as Record<string, unknown>)) {
        if (!ENV_NAME.test(k) || k.startsWith('AWS_BATCH')) fail(`${at}.environment.${k}`, 'is not a name a template may set (letters, digits, _; not AWS_BATCH*)');
        environment[k] = String(v);
      }
    }
    const mounts: Mount[] = [];
    if (e.mounts !== undefined) {
      if (!Array.isArray(e.mounts)) fail(`${at}.mounts`, 'must be a list of {sourcePath, containerPath}');
      (e.mounts as unknown[]).forEach((m, j) => {
        const mp = `${at}.mounts[${j}]`;
        const mm = (m ?? {}) as Record<string, unknown>;
        if (typeof mm.sourcePath !== 'string' || !mm.sourcePath.startsWith('/')) fail(`${mp}.sourcePath`, 'must be an absolute path on the host');
        // The operator's own grant, so no hostVolumeRoots; but never the data directory.
        const source = resolve(mm.sourcePath);
        if (dataDir && (source === dataDir || source.startsWith(dataDir + '/'))) fail(`${mp}.sourcePath`, `is in the data directory (${dataDir}), which no job may see`);
        const target = mm.containerPath;
        if (typeof target !== 'string' || !target || target.startsWith('/') || target.split('/').some((p) => p === '..' || p === '' || p === '.'))
          fail(`${mp}.containerPath`, "must be a relative path inside the job's working directory, such as data or inputs/ref");
        mounts.push({ sourcePath: mm.sourcePath, containerPath: target });
      });
    }
    const timeout = e.bootstrapTimeoutSeconds === undefined ? 300 : Number(e.bootstrapTimeoutSeconds);
    if (!Number.isFinite(timeout) || timeout <= 0) fail(`${at}.bootstrapTimeoutSeconds`, 'must be a positive number of seconds');
    if (out.some((t) => t.launchTemplateName === name)) fail(`${at}.launchTemplateName`, `'${name}' is given twice`);
    if (out.some((t) => t.launchTemplateId === id)) fail(`${at}.launchTemplateId`, `'${id}' is given twice`);
    out.push({ launchTemplateName: name, launchTemplateId: id as string, version, bootstrap: e.bootstrap as string | undefined, environment, mounts, bootstrapTimeoutSeconds: timeout });
  });
  return out;
}

/** A CE's launchTemplate member, as AWS shapes it. */
export interface LaunchTemplateRef {
  launchTemplateName?: string;
  launchTemplateId?: string;
  version?: string;
}

/**
 * The template a CE's launchTemplate selects; a ClientException naming the member when there
 * is no such template or version.
 */
export function resolveLaunchTemplate(templates: readonly LaunchTemplate[], ref: LaunchTemplateRef, path = 'computeResources.launchTemplate'): LaunchTemplate {
  const t = ref.launchTemplateId !== undefined ? templates.find((x) => x.launchTemplateId === ref.launchTemplateId) : templates.find((x) => x.launchTemplateName === ref.launchTemplateName);
  if (!t) {
    const given = ref.launchTemplateId !== undefined ? `launchTemplateId '${ref.launchTemplateId}'` : `launchTemplateName '${ref.launchTemplateName}'`;
    const known = templates.length ? `: the server has ${templates.map((x) => `${x.launchTemplateName} (${x.launchTemplateId})`).join(', ')}` : ': the server has none (launchTemplates setting)';
    throw clientError(`${path}.${given.split(' ')[0]} names no launch template ${given.slice(given.indexOf(' ') + 1)}${known}`);
  }
  const v = ref.version;
  if (v !== undefined && v !== '$Latest' && v !== '$Default' && v !== t.version) {
    throw clientError(`${path}.version '${v}' does not exist for launch template ${t.launchTemplateName}: use $Latest, $Default or ${t.version}`);
  }
  return t;
}

const parsed = new WeakMap<object, LaunchTemplate[]>();

/** The server's templates (parsed once per configuration object). */
export function launchTemplatesOf(config: { launchTemplates: unknown; dataDir?: string }): LaunchTemplate[] {
  let t = parsed.get(config);
  if (!t) {
    t = parseLaunchTemplates(config.launchTemplates, config.dataDir);
    parsed.set(config, t);
  }
  return t;
}
