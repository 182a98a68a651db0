/**
 * The rendering example (examples/rendering/) at a small size: its pipeline file applied with
 * the CLI, its trigger rule on a server of its own, a scene dropped into the inbox → an array
 * renders the frames with POV-Ray, the stitch makes an MP4 with ffmpeg. Checks the real
 * output (the MP4's frame count, read by ffprobe) and the run report. When the build has Spot
 * chaos, it is on, and the run must still succeed — by retrying what was interrupted.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, test } from 'node:test';
import { DescribeJobsCommand, ListJobsCommand } from '@aws-sdk/client-batch';
import { loadConfig, type ServerConfig } from '../../src/config.js';
import { CLI, startTestServer, tempDir, type TestServer } from '../helpers/server.js';
import { waitForStatus } from '../helpers/fixtures.js';

const run = promisify(execFile);
const example = fileURLToPath(new URL('../../../examples/rendering/', import.meta.url));
const missing = ['povray', 'ffmpeg', 'ffprobe'].filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
/** Spot chaos exists in this build when the server knows its setting. */
const chaos = 'spotInterruptionsPerHour' in loadConfig({}, {});

let t: TestServer | undefined;
after(async () => t?.close());

const FRAMES = 6;

test('a scene dropped into the inbox renders on Spot capacity and is stitched into an MP4 of every frame', { skip: missing.length ? `not installed: ${missing.join(', ')} (scripts/ci/examples.sh installs them)` : false }, async () => {
  // Laid out as `npm run demo` lays out examples/rendering/: the inbox, the output and the
  // server's data directory side by side in one directory.
  const dir = tempDir('openbatch-rendering-');
  const inbox = join(dir, 'inbox');
  const output = join(dir, 'output');
  chmodSync(dir, 0o755); // as a checkout is: jobs running as nobody pass through it
  mkdirSync(inbox);
  // The jobs write their frames and the video beside the inbox, through a volume of output/:
  // the server grants it, and a root server's jobs (nobody) may write it.
  mkdirSync(output);
  chmodSync(output, 0o777);
  t = await startTestServer({
    hostVolumeRoots: [inbox, output],
    // Spot chaos, hard: each instance is interrupted every 10 s on average, with no notice
    // (a frame takes a second or two here, so some attempts die and are run again; the
    // definitions allow 10 attempts, so a frame failing for good is vanishingly rare).
    ...(chaos ? { spotInterruptionsPerHour: 360, spotNoticeSeconds: 0 } : {}),
    triggers: [
      {
        name: 'scenes',
        watch: join(inbox, '*.pov'),
        jobQueue: 'render',
        jobDefinition: 'render-frame',
        arrayProperties: { size: FRAMES },
        parameters: { frames: String(FRAMES), width: '64', height: '48', fps: '6' },
        then: [{ jobDefinition: 'stitch-frames' }],
        settleSeconds: 0.2,
        pollSeconds: 0.2,
      },
    ],
  } as Partial<ServerConfig>, { dataDir: join(dir, '.data') });
  const pipeline = join(dir, 'pipeline.yaml');
  writeFileSync(pipeline, readFileSync(join(example, 'pipeline.yaml'), 'utf8').replaceAll('@RENDERING@', dir));
  await run(process.execPath, [CLI, 'apply', '-f', pipeline, '--endpoint', t.url]);

  copyFileSync(join(example, 'scene.pov'), join(inbox, '.orbit.pov.part'));
  renameSync(join(inbox, '.orbit.pov.part'), join(inbox, 'orbit.pov'));

  let ids: Record<string, string> = {};
  const deadline = Date.now() + 60_000;
  while (Object.keys(ids).length < 2 && Date.now() < deadline) {
    const res = await t.client.send(new ListJobsCommand({ jobQueue: 'render', filters: [{ name: 'JOB_NAME', values: ['scenes-orbit_pov*'] }] }));
    ids = Object.fromEntries((res.jobSummaryList ?? []).map((j) => [j.jobName!, j.jobId!]));
    await new Promise((r) => setTimeout(r, 200));
  }
  const arrayId = ids['scenes-orbit_pov'];
  const stitchId = ids['scenes-orbit_pov-stitch-frames'];
  assert.ok(arrayId && stitchId, `the trigger submitted the render and the stitch (jobs: ${Object.keys(ids).join(', ')})`);

  const stitch = await waitForStatus(t.client, stitchId, ['SUCCEEDED', 'FAILED'], 170_000);
  const array = await waitForStatus(t.client, arrayId, ['SUCCEEDED', 'FAILED']);
  if (array.status !== 'SUCCEEDED') {
    // Say why: the first failed frame's reason and what its container reported.
    const failed = await t.client.send(new ListJobsCommand({ arrayJobId: arrayId, jobStatus: 'FAILED' }));
    const first = failed.jobSummaryList?.[0]?.jobId;
    const child = first ? (await t.client.send(new DescribeJobsCommand({ jobs: [first] }))).jobs?.[0] : undefined;
    assert.fail(`the render failed: ${array.statusReason}; frame ${child?.arrayProperties?.index}: ${child?.statusReason} (${child?.container?.reason ?? 'no container reason'})`);
  }
  assert.equal(stitch.status, 'SUCCEEDED', stitch.statusReason);

  const out = join(dir, 'output', 'orbit');
  assert.deepEqual(readdirSync(join(out, 'frames')).sort(), Array.from({ length: FRAMES }, (_, i) => `frame-${String(i).padStart(4, '0')}.png`));
  const video = join(out, 'orbit.mp4');
  assert.ok(existsSync(video));
  const probe = await run('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames,width,height,codec_name', '-of', 'json', video]);
  const [stream] = (JSON.parse(probe.stdout) as { streams: { nb_read_frames: string; width: number; height: number; codec_name: string }[] }).streams;
  assert.deepEqual(stream, { codec_name: 'h264', width: 64, height: 48, nb_read_frames: String(FRAMES) });

  const report = JSON.parse((await run(process.execPath, [join(example, 'report.mjs'), arrayId, '--endpoint', t.url, '--json'])).stdout) as Record<string, number | string>;
  assert.equal(report.frames, FRAMES);
  assert.equal(report.framesSucceeded, FRAMES);
  assert.equal(report.stitchJobId, stitchId);
  assert.equal(report.cores, 2);
  assert.ok((report.workSeconds as number) > 0 && (report.makespanSeconds as number) > 0 && (report.idealSeconds as number) > 0, JSON.stringify(report));
  assert.ok(Math.abs((report.idealSeconds as number) - (report.workSeconds as number) / 2) <= 0.01, 'ideal = work / cores');
  // Each job logs the CPU-seconds its programs used; the report adds them up, read through the logs API.
  assert.ok((report.cpuSeconds as number) > 0, JSON.stringify(report));
  assert.ok(Math.abs((report.idealCpuSeconds as number) - (report.cpuSeconds as number) / 2) <= 0.01, 'CPU ideal = CPU-seconds / cores');
  // Every interruption cost a retry: the run survived them by retrying.
  assert.ok((report.retries as number) >= (report.interruptions as number), JSON.stringify(report));
  if (chaos && (report.interruptions as number) > 0) assert.ok((report.retries as number) > 0);
  if (!chaos) assert.equal(report.interruptions, 0);
  // Printed for the run's log: how hard chaos hit this time.
  console.log(`rendering: ${JSON.stringify(report)}`);
});
