#!/usr/bin/env node
/**
 * The `openbatch` command. Each subcommand has --help with an example; an error is one line
 * on stderr (`openbatch: …`) and a non-zero exit.
 *
 * Start-up cost matters twice here: local instances are `openbatch agent` processes, and
 * people type `openbatch jobs` all day. So the server, the agent and the AWS SDK are each
 * loaded only by the commands that use them (the server's modules take seconds to load on a
 * small machine; the SDK most of a second).
 */
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { loadConfig } from '../config.js';
import type { runAgent } from '../agent/main.js';

/** The installed package's version (package.json sits three levels above dist/src/cli/). */
const VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const program = new Command();
program
  .name('openbatch')
  .description('Self-hosted batch computing that speaks the AWS Batch API and really runs the jobs')
  .version(`openbatch ${VERSION} (Node.js ${process.versions.node})`, '-V, --version', 'print the version and exit')
  // The connection and output options belong to the program, so that they are accepted
  // before or after the command, as the aws CLI accepts them (client.ts reads them).
  .option('--endpoint-url <url>', 'the server (env OPENBATCH_ENDPOINT, AWS_ENDPOINT_URL_BATCH, AWS_ENDPOINT_URL; default http://127.0.0.1:8770)')
  .addOption(new Option('--endpoint <url>', 'the same as --endpoint-url').hideHelp())
  .option('--region <region>', 'region for signing and ARNs (env AWS_REGION, AWS_DEFAULT_REGION; default us-east-1)')
  .addOption(new Option('--output <format>', 'table, text (tab-separated) or json (env OPENBATCH_OUTPUT; default table)').choices(['table', 'text', 'json']))
  .configureHelp({ showGlobalOptions: true })
  .configureOutput({
    // commander's "error: …" becomes the CLI's one line.
    outputError: (str, write) => write(`openbatch: ${str.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ').trim()}\n`),
  })
  .showSuggestionAfterError()
  .addHelpText('after', '\nExample:\n  openbatch server &\n  openbatch init && openbatch submit --wait && openbatch jobs\n\nopenbatch <command> --help shows each command with an example.');

program
  .command('server')
  .description('run the control plane: the AWS Batch API, the scheduler and local compute')
  .option('--host <host>', 'address to listen on (default 127.0.0.1; env OPENBATCH_HOST)')
  .option('--port <port>', 'port to listen on (default 8770; env OPENBATCH_PORT)')
  .option('--data-dir <dir>', 'where the database and job work directories live (default ./.openbatch; env OPENBATCH_DATA_DIR)')
  .option('--database <url>', 'postgres://user:pass@host:port/db to keep state in PostgreSQL, shared by several servers (env OPENBATCH_DATABASE_URL; default SQLite in the data dir)')
  .option('--config <file>', 'JSON configuration file (env OPENBATCH_CONFIG)')
  .option('--account <id>', 'AWS account id used in ARNs (default 000000000000)')
  .option('--log-level <level>', 'trace, debug, info, warn or error (default info)')
  .option('--log-format <format>', 'auto (pretty on a terminal, JSON otherwise), json or pretty (env OPENBATCH_LOG_FORMAT)')
  .addHelpText('after', '\nExample:\n  openbatch server --port 8770 --data-dir /var/lib/openbatch\n  aws batch describe-job-queues --endpoint-url http://127.0.0.1:8770')
  .action(async (flags: Record<string, string | undefined>) => {
    const config = loadConfig({
      host: flags.host,
      port: flags.port,
      dataDir: flags.dataDir,
      databaseUrl: flags.database,
      config: flags.config,
      account: flags.account,
      logLevel: flags.logLevel,
      logFormat: flags.logFormat,
    });
    const { startServer } = await import('../server.js');
    const server = await startServer(config);
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      server.services.logger.info({ signal }, 'shutting down; local agents keep their jobs running and are adopted at the next start (`openbatch drain` stops them)');
      server.close().then(
        () => process.exit(0),
        (err) => {
          server.services.logger.error({ err }, 'error during shutdown');
          process.exit(1);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });

program
  .command('agent')
  .description('run an agent that gives this machine\'s capacity to an openbatch server')
  .requiredOption('--server <url>', 'the server URL, e.g. http://10.0.0.5:8770; several comma-separated for control planes sharing one PostgreSQL database (the agent moves to the next when one is unreachable)')
  .option('--server-file <path>', 'a file naming the server URL, read again whenever the server cannot be reached (a server writes <data-dir>/server-url each time it listens): the agent follows a server restarted on another port')
  .option('--ce <name>', 'join this UNMANAGED compute environment (with the server\'s join token)')
  .option('--vcpus <n>', 'vCPUs to offer when joining (default: this machine\'s cores)')
  .option('--memory <MiB>', 'memory to offer when joining (default: this machine\'s memory)')
  .option('--gpus <n>', 'GPUs to offer when joining (default 0)')
  .option('--instance-id <id>', 'serve an instance the server launched (local provider)')
  .option('--token <token>', 'join token with --ce, instance token with --instance-id (prefer env OPENBATCH_AGENT_TOKEN)')
  .option('--work-dir <dir>', 'where attempts get their working directories', '.openbatch-agent')
  .option('--exit-with-parent', 'stop all jobs and exit when standard input closes')
  .option('--log-level <level>', 'log level', 'info')
  .option('--sandbox <on|off>', 'bubblewrap sandbox for process jobs: on (required: without a usable bwrap the agent refuses to start) or off (jobs run unsandboxed)', 'on')
  .option('--sandbox-network <none|host>', "sandboxed jobs' network: none (own namespace, loopback only) or host", 'none')
  .option('--docker-host <socket>', 'Docker Engine API socket for container jobs (default: DOCKER_HOST, else unix:///run/podman/podman.sock)')
  .option('--hide <path>', 'a host path sandboxed jobs must not see (repeatable); the work directory and the Docker socket always are', (v: string, all: string[] = []) => [...all, v])
  .option('--job-user <user>', 'as root: the user jobs run as unless their definition names one or is privileged', 'nobody')
  .addHelpText(
    'after',
    '\nExample (on another machine; the join token is in the server\'s <data-dir>/agent-join-token):\n  OPENBATCH_AGENT_TOKEN=$(cat join-token) openbatch agent --server http://10.0.0.5:8770 --ce my-machines --vcpus 8 --memory 16000',
  )
  .action(async (flags: Parameters<typeof runAgent>[0]) => {
    const { runAgent } = await import('../agent/main.js');
    await runAgent({ ...flags });
  });

// The commands that talk to a server through the AWS SDK (not needed by `server` or `agent`).
const subcommand = process.argv.slice(2).find((a) => !a.startsWith('-'));
if (subcommand !== 'server' && subcommand !== 'agent') {
  const [{ registerResourceCommands }, { registerJobCommands }, { registerLogsCommand }, { registerWhyCommand }, { registerCostCommand }, { registerRerunCommand }, { registerApplyCommand }, { registerTopCommand }] = await Promise.all([
    import('./resources.js'),
    import('./jobs.js'),
    import('./logs.js'),
    import('./why.js'),
    import('./cost.js'),
    import('./rerun.js'),
    import('./apply.js'),
    import('./top.js'),
  ]);
  registerRerunCommand(program);
  registerWhyCommand(program);
  registerCostCommand(program);
  registerResourceCommands(program);
  registerJobCommands(program);
  registerLogsCommand(program);
  registerApplyCommand(program);
  registerTopCommand(program);
  // Its own statement, so that commands added beside it do not touch the same lines.
  const { registerInstanceCommands } = await import('./instances.js');
  registerInstanceCommands(program);
  const { registerUsageCommand } = await import('./usage.js');
  registerUsageCommand(program);
  const { registerDrainCommand } = await import('./drain.js');
  registerDrainCommand(program);
  const { registerJoinTokenCommand } = await import('./joinToken.js');
  registerJoinTokenCommand(program);
  const { registerCompletionCommand } = await import('./completion.js');
  registerCompletionCommand(program);
  const { useGlobalOptions } = await import('./client.js');
  program.hook('preAction', (_program, command) => useGlobalOptions(command.optsWithGlobals()));
}

// `openbatch logs … | head` closes the pipe early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

program.parseAsync(process.argv).catch((err: Error) => {
  process.stderr.write(`openbatch: ${(err.message || String(err)).replace(/\s*\n\s*/g, ' ').trim()}\n`);
  process.exit(1);
});
