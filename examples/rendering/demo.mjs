#!/usr/bin/env node
// `npm run demo`: the rendering example end to end, on a server of its own.
//
//   1. starts `openbatch server` (data in examples/rendering/.data, made afresh; port 8770,
//      or a free one when 8770 is taken) with the example's trigger rule and Spot chaos on
//   2. `openbatch apply -f examples/rendering/pipeline.yaml`: the SPOT compute environment,
//      the queue and the two job definitions
//   3. drops the scene into examples/rendering/inbox/: the trigger submits the render array
//      and the stitch job that depends on it
//   4. prints progress until the stitch ends, then the run report and where the video is
//
// Flags: --frames N (48), --width W (320), --height H (240), --fps F (12),
//        --chaos R (Spot interruptions per instance-hour, 120; 0 turns chaos off),
//        --notice S (the warning before an interrupted instance ends, 0 s: see below),
//        --keep (leave the server running afterwards, for the dashboard; Ctrl-C stops it).
// Needs povray and ffmpeg (Debian: apt-get install povray ffmpeg).
// The SDK warns on every run that its 2027 releases will want Node 22; this example runs on 20.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BatchClient, DescribeJobsCommand, ListJobsCommand } from '@aws-sdk/client-batch';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { formatReport, renderReport } from './report.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const cli = join(root, 'dist/src/cli/main.js');

function option(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v < 0) fail(`--${name} wants a number (got ${process.argv[i + 1]})`);
  return v;
}
function fail(msg) {
  console.error(`demo: ${msg}`);
  process.exit(1);
}
const frames = option('frames', 48);
const width = option('width', 320);
const height = option('height', 240);
const fps = option('fps', 12);
const chaos = option('chaos', 120);
const notice = option('notice', 0);
const keep = process.argv.includes('--keep');
if (frames < 2 || frames > 10000) fail('--frames must be 2 to 10000 (an array job)');
if (width % 2 || height % 2) fail('--width and --height must be even (the video is yuv420p)');

const missing = ['povray', 'ffmpeg'].filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
if (missing.length) fail(`${missing.join(' and ')} not found: on Debian or Ubuntu, sudo apt-get install ${missing.join(' ')}`);
if (!existsSync(cli)) fail('openbatch is not built: run npm install (or npm run build) first');

const t0 = Date.now();
const since = () => `${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s`;
const say = (msg) => console.log(`${since()}  ${msg}`);

async function freePort(preferred) {
  const tryPort = (p) =>
    new Promise((res) => {
      const s = createServer().once('error', () => res(undefined));
      s.listen(p, '127.0.0.1', () => {
        const { port } = s.address(); // read before close: a closed server has no address
        s.close(() => res(port));
      });
    });
  return (await tryPort(preferred)) ?? (await tryPort(0));
}

// Fresh state: the demo's own data directory, inbox and output of the scene.
const dataDir = join(here, '.data');
const inbox = join(here, 'inbox');
const scene = 'demo';
rmSync(dataDir, { recursive: true, force: true });
mkdirSync(dataDir, { recursive: true });
mkdirSync(inbox, { recursive: true });
rmSync(join(inbox, `${scene}.pov`), { force: true });
rmSync(join(here, 'output', scene), { recursive: true, force: true });

// Spot chaos: each SPOT instance is interrupted at random, `chaos` times an hour on average,
// with `notice` seconds of warning (AWS gives two minutes). A frame takes a few seconds here,
// so with a notice longer than a frame the frames running finish in time and nothing is
// lost; without notice they die, and the retry strategy runs them again on the next instance.
// A build without chaos runs without it.
const hasChaos = existsSync(join(root, 'dist/src/compute/chaos.js'));
// The jobs read the scene through a volume of inbox/ and write the frames and the video
// through a volume of output/ (pipeline.yaml), which the server grants them here — not this
// whole directory, which holds the server's data directory (.data/) too. A server running as root runs its jobs
// as nobody: the output directory is theirs to write.
mkdirSync(join(here, 'output'), { recursive: true });
chmodSync(join(here, 'output'), 0o777);
const config = {
  ...(hasChaos ? { spotInterruptionsPerHour: chaos, spotNoticeSeconds: notice } : {}),
  hostVolumeRoots: [inbox, join(here, 'output')],
  scaleDownDelaySeconds: 5,
  triggers: [
    {
      name: 'scenes',
      watch: join(inbox, '*.pov'),
      jobQueue: 'render',
      jobDefinition: 'render-frame',
      arrayProperties: { size: frames },
      parameters: { frames: String(frames), width: String(width), height: String(height), fps: String(fps) },
      then: [{ jobDefinition: 'stitch-frames' }],
      settleSeconds: 1,
      pollSeconds: 1,
    },
  ],
};
writeFileSync(join(dataDir, 'server.json'), JSON.stringify(config, null, 2));

const port = await freePort(8770);
say(`starting openbatch on port ${port} (data: ${dataDir}, log: ${join(dataDir, 'server.log')})`);
const { openSync } = await import('node:fs');
const logFd = openSync(join(dataDir, 'server.log'), 'a');
const server = spawn(process.execPath, [cli, 'server', '--port', String(port), '--data-dir', dataDir, '--config', join(dataDir, 'server.json')], {
  cwd: root,
  stdio: ['ignore', logFd, logFd],
});
let serverExited = false;
server.on('exit', () => (serverExited = true));
const stopServer = () => {
  if (!serverExited) server.kill('SIGTERM');
};
process.on('SIGINT', () => {
  stopServer();
  process.exit(130);
});
const url = `http://127.0.0.1:${port}`;
for (let i = 0; ; i++) {
  if (serverExited) fail(`the server stopped at start; see ${join(dataDir, 'server.log')}`);
  try {
    if ((await fetch(`${url}/healthz`)).ok) break;
  } catch {
    // not listening yet
  }
  if (i > 300) fail('the server did not start within 30 s');
  await new Promise((r) => setTimeout(r, 100));
}
say(`server ready. Dashboard: ${url}/  (sign in with any key pair, e.g. test / test)`);
if (hasChaos && chaos > 0) say(`Spot chaos on: each instance interrupted ${chaos} times an hour on average, ${notice} s notice`);

// The pipeline with this checkout's path where it names the directory its jobs mount.
const pipeline = readFileSync(join(here, 'pipeline.yaml'), 'utf8').replaceAll('@RENDERING@', here);
const apply = spawnSync(process.execPath, [cli, 'apply', '-f', '-', '--endpoint', url], { encoding: 'utf8', input: pipeline });
for (const line of (apply.stdout + apply.stderr).trim().split('\n')) say(`apply: ${line}`);
if (apply.status !== 0) {
  stopServer();
  fail('apply failed');
}

// An uploader's way: write under a hidden name (never matched), then rename.
const part = join(inbox, `.${scene}.pov.part`);
copyFileSync(join(here, 'scene.pov'), part);
renameSync(part, join(inbox, `${scene}.pov`));
const loadAtDrop = loadavg()[0];
say(`dropped ${scene}.pov into ${inbox}: the trigger submits ${frames} frames (${width}x${height}) and the stitch`);

const clientConfig = { endpoint: url, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
const client = new BatchClient(clientConfig);
const logs = new CloudWatchLogsClient(clientConfig);
const jobNamed = async (name) => {
  const res = await client.send(new ListJobsCommand({ jobQueue: 'render', filters: [{ name: 'JOB_NAME', values: [name] }] }));
  return res.jobSummaryList?.[0]?.jobId;
};
let arrayId;
let stitchId;
let last = '';
for (;;) {
  if (serverExited) fail(`the server stopped; see ${join(dataDir, 'server.log')}`);
  arrayId ??= await jobNamed(`scenes-${scene}_pov`);
  stitchId ??= await jobNamed(`scenes-${scene}_pov-stitch-frames`);
  if (arrayId && stitchId) {
    const [array, stitch] = (await client.send(new DescribeJobsCommand({ jobs: [arrayId, stitchId] }))).jobs;
    const s = array.arrayProperties?.statusSummary ?? {};
    const running = (s.STARTING ?? 0) + (s.RUNNING ?? 0);
    const line = `frames ${s.SUCCEEDED ?? 0}/${frames} done, ${running} running, ${s.FAILED ?? 0} failed; stitch ${stitch.status}`;
    if (line !== last) say(line);
    last = line;
    if (stitch.status === 'SUCCEEDED' || stitch.status === 'FAILED') break;
  }
  await new Promise((r) => setTimeout(r, 1000));
}

const report = await renderReport(client, arrayId, logs);
console.log('\n' + formatReport(report));
const [l1, l5] = loadavg();
console.log(`host        ${availableParallelism()} cores; load average ${loadAtDrop.toFixed(2)} (1 min) at the drop, ${l1.toFixed(2)} (1 min) and ${l5.toFixed(2)} (5 min) at the end`);
const video = join(here, 'output', scene, `${scene}.mp4`);
if (report.stitchStatus === 'SUCCEEDED' && existsSync(video)) {
  const probe = spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames,width,height', '-of', 'csv=p=0', video], { encoding: 'utf8' });
  console.log(`\nvideo       ${video}${probe.status === 0 ? `  (${probe.stdout.trim().split(',').join(' x ').replace(/ x (\d+)$/, ', $1 frames')})` : ''}`);
  console.log(`frames      ${join(here, 'output', scene, 'frames')}/ (${readdirSync(join(here, 'output', scene, 'frames')).length} PNGs)`);
} else {
  console.log(`\nthe stitch did not succeed: openbatch logs ${stitchId} --endpoint ${url}`);
}
client.destroy();
logs.destroy();
if (keep) {
  console.log(`\nserver still running: dashboard ${url}/ ; Ctrl-C stops it`);
} else {
  stopServer();
  console.log(`\nserver stopped. Run again with --keep to browse the run in the dashboard afterwards.`);
}
process.exitCode = report.stitchStatus === 'SUCCEEDED' ? 0 : 1;
