/**
 * Which server the CLI talks to (the endpoint settings in the order boto3 and the aws CLI
 * read them), and the one line it prints for what went wrong on the way: a person's words,
 * never the SDK's or OpenSSL's internals.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { describe, test } from 'node:test';
import { BatchClient, DescribeJobQueuesCommand } from '@aws-sdk/client-batch';
import { endpointOf, errorLine, type Endpoint } from '../../src/cli/client.js';
import { requestOpenbatch } from '../../src/cli/openbatchApi.js';

describe('endpointOf', () => {
  const cases: [string, { endpoint?: string }, Record<string, string>, Endpoint][] = [
    ['nothing set: the local default', {}, {}, { url: 'http://127.0.0.1:8770', from: 'default' }],
    ['AWS_ENDPOINT_URL', {}, { AWS_ENDPOINT_URL: 'http://a:1' }, { url: 'http://a:1', from: 'AWS_ENDPOINT_URL' }],
    ['the service’s own variable before the global one', {}, { AWS_ENDPOINT_URL: 'http://a:1', AWS_ENDPOINT_URL_BATCH: 'http://b:2' }, { url: 'http://b:2', from: 'AWS_ENDPOINT_URL_BATCH' }],
    ['OPENBATCH_ENDPOINT before the AWS variables', {}, { AWS_ENDPOINT_URL_BATCH: 'http://b:2', OPENBATCH_ENDPOINT: 'http://o:3' }, { url: 'http://o:3', from: 'OPENBATCH_ENDPOINT' }],
    ['--endpoint-url before everything', { endpoint: 'http://f:4' }, { OPENBATCH_ENDPOINT: 'http://o:3', AWS_ENDPOINT_URL: 'http://a:1' }, { url: 'http://f:4', from: '--endpoint-url' }],
    ['AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true ignores the AWS variables', {}, { AWS_ENDPOINT_URL: 'http://a:1', AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' }, { url: 'http://127.0.0.1:8770', from: 'default' }],
    ['an empty variable counts as unset', {}, { AWS_ENDPOINT_URL_BATCH: '', AWS_ENDPOINT_URL: 'http://a:1' }, { url: 'http://a:1', from: 'AWS_ENDPOINT_URL' }],
  ];
  for (const [name, flags, env, want] of cases) test(name, () => assert.deepEqual(endpointOf(flags, env), want));
});

/** Runs `fn` with a throwaway HTTP server answering every request with `handler`. */
async function withServer(handler: Parameters<typeof createServer>[1], fn: (url: string) => Promise<void>): Promise<void> {
  const server: Server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    await fn(`http://127.0.0.1:${(server.address() as { port: number }).port}`);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

/** The line the CLI prints for what the SDK (and the openbatch client) threw at `url`. */
async function linesFor(url: string): Promise<{ sdk: string; openbatch: string }> {
  const where: Endpoint = { url, from: '--endpoint-url' };
  const client = new BatchClient({ endpoint: url, region: 'us-east-1', credentials, maxAttempts: 1 });
  const sdk = await client.send(new DescribeJobQueuesCommand({})).then(
    () => 'no error',
    (e) => errorLine(e, where),
  );
  client.destroy();
  const openbatch = await requestOpenbatch({ endpoint: url, region: 'us-east-1', credentials }, 'POST', '/openbatch/v1/why', {}, {}).then(
    () => 'no error',
    (e) => errorLine(e, where),
  );
  return { sdk, openbatch };
}

describe('errorLine', () => {
  test('a web page is not an openbatch/AWS Batch endpoint, and the line says what answered', async () => {
    await withServer(
      (_req, res) => {
        res.writeHead(404, { 'content-type': 'text/html; charset=utf-8' });
        res.end('<html><body>Not here</body></html>');
      },
      async (url) => {
        const { sdk, openbatch } = await linesFor(url);
        for (const line of [sdk, openbatch]) {
          assert.equal(line, `this is not an openbatch/AWS Batch endpoint (${url} answered HTTP 404, text/html; from --endpoint-url)`);
        }
      },
    );
  });

  test('a JSON error without an AWS error type is not an endpoint either', async () => {
    await withServer(
      (_req, res) => {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end('{"message":"Route not found","statusCode":404}');
      },
      async (url) => {
        const { sdk, openbatch } = await linesFor(url);
        assert.match(sdk, /^this is not an openbatch\/AWS Batch endpoint \(.* answered HTTP 404, application\/json; from --endpoint-url\)$/);
        assert.match(openbatch, /^this is not an openbatch\/AWS Batch endpoint/);
      },
    );
  });

  test('TLS spoken to a plain-HTTP server says so and gives the http:// URL', async () => {
    await withServer(
      (_req, res) => res.end('{}'),
      async (url) => {
        const tls = url.replace('http:', 'https:');
        const { sdk, openbatch } = await linesFor(tls);
        for (const line of [sdk, openbatch]) assert.equal(line, `TLS spoken to a plain-HTTP server at ${tls}: use ${url} (from --endpoint-url)`);
      },
    );
  });

  test('a refused connection names the endpoint and the setting it came from', async () => {
    let closed = '';
    await withServer(
      (_req, res) => res.end('{}'),
      async (url) => void (closed = url),
    );
    const { sdk, openbatch } = await linesFor(closed);
    for (const line of [sdk, openbatch]) {
      assert.equal(line, `cannot reach openbatch at ${closed}: connection refused (is 'openbatch server' running? point --endpoint-url or OPENBATCH_ENDPOINT at it; from --endpoint-url)`);
    }
  });

  test("AWS's own errors keep their message", () => {
    const e = Object.assign(new Error("jobQueue 'nope' does not exist"), { name: 'ClientException', $response: { statusCode: 400, headers: { 'x-amzn-errortype': 'ClientException' } } });
    assert.equal(errorLine(e, { url: 'http://x', from: 'default' }), "jobQueue 'nope' does not exist");
  });
});
