/**
 * SigV4 authentication as a client sees it: with credentials configured, only requests
 * signed with a configured key and its secret, at about the right time, get through; each
 * kind of refusal is the 403 AWS gives. Without credentials the server will not listen
 * beyond loopback.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { rmSync } from 'node:fs';
import { Sha256 } from '@aws-crypto/sha256-js';
import {
  CreateComputeEnvironmentCommand,
  DescribeComputeEnvironmentsCommand,
  ListTagsForResourceCommand,
  TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-batch';
import { SignatureV4 } from '@smithy/signature-v4';
import pino from 'pino';
import { loadConfig } from '../../src/config.js';
import { startServer } from '../../src/server.js';
import { batchClient, startTestServer, tempDir, type TestServer } from '../helpers/server.js';
import { raw, sdkError } from '../helpers/apiErrors.js';

const KEY = { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret1' };

/** Signs a request as the SDK would, but at `signingDate`, and sends it with fetch. */
async function signedFetch(url: string, path: string, body: string, signingDate: Date, credentials = KEY) {
  const u = new URL(url);
  const signer = new SignatureV4({ service: 'batch', region: 'us-east-1', credentials, sha256: Sha256 });
  const signed = await signer.sign(
    {
      method: 'POST',
      protocol: u.protocol,
      hostname: u.hostname,
      port: Number(u.port),
      path,
      query: {},
      headers: { host: u.host, 'content-type': 'application/json' },
      body,
    },
    { signingDate },
  );
  // fetch sets Host itself, to the same value.
  const { host: _host, ...headers } = signed.headers;
  return raw(url, path, body, { headers });
}

describe('SigV4 with credentials configured', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ credentials: 'AKIDTEST:secret1' });
  });
  after(async () => t.close());

  test('the server starts with credentials on 127.0.0.1', () => {
    assert.match(t.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  test('a request signed with the configured key and secret is served', async () => {
    const client = batchClient(t.url, KEY);
    try {
      const res = await client.send(
        new CreateComputeEnvironmentCommand({ computeEnvironmentName: 'signed', type: 'UNMANAGED', tags: { a: '1' } }),
      );
      assert.equal(res.computeEnvironmentArn, 'arn:aws:batch:us-east-1:000000000000:compute-environment/signed');
      const described = await client.send(new DescribeComputeEnvironmentsCommand({ computeEnvironments: ['signed'] }));
      assert.equal(described.computeEnvironments?.[0]?.computeEnvironmentName, 'signed');
    } finally {
      client.destroy();
    }
  });

  test('the tag operations, with the ARN percent-encoded in the URL path, verify with the right key', async () => {
    const client = batchClient(t.url, KEY);
    const arn = 'arn:aws:batch:us-east-1:000000000000:compute-environment/signed';
    try {
      await client.send(new TagResourceCommand({ resourceArn: arn, tags: { 'team/name': 'a b', b: '2' } }));
      assert.deepEqual((await client.send(new ListTagsForResourceCommand({ resourceArn: arn }))).tags, { a: '1', 'team/name': 'a b', b: '2' });
      await client.send(new UntagResourceCommand({ resourceArn: arn, tagKeys: ['team/name', 'b'] }));
      assert.deepEqual((await client.send(new ListTagsForResourceCommand({ resourceArn: arn }))).tags, { a: '1' });
    } finally {
      client.destroy();
    }
    const wrong = batchClient(t.url, { ...KEY, secretAccessKey: 'nope' });
    try {
      await sdkError(wrong.send(new ListTagsForResourceCommand({ resourceArn: arn })), 'InvalidSignatureException', 403);
    } finally {
      wrong.destroy();
    }
  });

  test('an access key that is not configured gets 403 UnrecognizedClientException', async () => {
    const client = batchClient(t.url, { accessKeyId: 'AKIDOTHER', secretAccessKey: 'secret1' });
    try {
      const message = await sdkError(client.send(new DescribeComputeEnvironmentsCommand({})), 'UnrecognizedClientException', 403);
      assert.match(message, /security token included in the request is invalid/);
    } finally {
      client.destroy();
    }
  });

  test('the configured key with a wrong secret gets 403 InvalidSignatureException', async () => {
    const client = batchClient(t.url, { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret2' });
    try {
      const message = await sdkError(client.send(new DescribeComputeEnvironmentsCommand({})), 'InvalidSignatureException', 403);
      assert.match(message, /signature we calculated does not match/);
    } finally {
      client.destroy();
    }
  });

  test('an unsigned request gets 403 MissingAuthenticationTokenException', async () => {
    const answer = await raw(t.url, '/v1/describecomputeenvironments', '{}');
    assert.equal(answer.status, 403);
    assert.equal(answer.errorType, 'MissingAuthenticationTokenException');
    assert.ok(answer.body?.message);
  });

  test('a request signed 20 minutes off gets 403 InvalidSignatureException: expired in the past, not yet current in the future', async () => {
    for (const [offset, says] of [
      [-20, /Signature expired/],
      [20, /Signature not yet current|Signature expired/],
    ] as const) {
      const answer = await signedFetch(t.url, '/v1/describecomputeenvironments', '{}', new Date(Date.now() + offset * 60_000));
      assert.equal(answer.status, 403, `${offset} min: ${answer.text}`);
      assert.equal(answer.errorType, 'InvalidSignatureException');
      assert.match(answer.body?.message ?? '', says);
    }
    // The same request signed now is served: only the time was wrong.
    const now = await signedFetch(t.url, '/v1/describecomputeenvironments', '{}', new Date());
    assert.equal(now.status, 200, now.text);
  });

  test('a signed body changed on the way is refused', async () => {
    const u = new URL(t.url);
    const signer = new SignatureV4({ service: 'batch', region: 'us-east-1', credentials: KEY, sha256: Sha256 });
    const signed = await signer.sign({
      method: 'POST',
      protocol: u.protocol,
      hostname: u.hostname,
      port: Number(u.port),
      path: '/v1/describecomputeenvironments',
      query: {},
      headers: { host: u.host, 'content-type': 'application/json' },
      body: '{}',
    });
    const { host: _host, ...headers } = signed.headers;
    const answer = await raw(t.url, '/v1/describecomputeenvironments', '{"maxResults":1}', { headers });
    // The signer sent x-amz-content-sha256 of the original body: AWS answers that mismatch
    // with its own 400 code before comparing signatures; without the header it is a 403.
    assert.ok(
      (answer.status === 400 && answer.errorType === 'XAmzContentSHA256Mismatch') || (answer.status === 403 && answer.errorType === 'InvalidSignatureException'),
      `${answer.status} ${answer.text}`,
    );
    const { 'x-amz-content-sha256': _hash, ...unhashed } = headers;
    const bare = await raw(t.url, '/v1/describecomputeenvironments', '{"maxResults":1}', { headers: unhashed });
    assert.equal(bare.status, 403, bare.text);
    assert.equal(bare.errorType, 'InvalidSignatureException');
  });
});

describe('listening beyond loopback', () => {
  test('the server refuses to start on a non-loopback host without credentials, saying why', async () => {
    const dataDir = tempDir();
    try {
      const config = loadConfig({ host: '0.0.0.0', port: 0, dataDir, logLevel: 'silent' }, {});
      await assert.rejects(startServer(config, { logger: pino({ level: 'silent' }) }), (e: Error) => {
        assert.match(e.message, /refusing to listen on 0\.0\.0\.0 without credentials/);
        assert.match(e.message, /OPENBATCH_CREDENTIALS/);
        return true;
      });
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
