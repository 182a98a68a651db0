#!/usr/bin/env node
/**
 * The `openbatch` command. Each subcommand has --help with an example.
 */
import { Command } from 'commander';
import { loadConfig } from '../config.js';
import { startServer } from '../server.js';
import { runAgent } from '../agent/main.js';

const program = new Command();
program
  .name('openbatch')
  .description('Self-hosted batch computing that speaks the AWS Batch API and really runs the jobs')
  .showHelpAfterError();

program
  .command('server')
  .description('run the control plane: the AWS Batch API, the scheduler and local compute')
  .option('--host <host>', 'address to listen on (default 127.0.0.1; env OPENBATCH_HOST)')
  .option('--port <port>', 'port to listen on (default 8770; env OPENBATCH_PORT)')
  .option('--data-dir <dir>', 'where the database and job work directories live (default ./.openbatch; env OPENBATCH_DATA_DIR)')
  .option('--config <file>', 'JSON configuration file (env OPENBATCH_CONFIG)')
  .option('--account <id>', 'AWS account id used in ARNs (default 000000000000)')
  .option('--log-level <level>', 'trace, debug, info, warn or error (default info)')
  .addHelpText('after', '\nExample:\n  openbatch server --port 8770 --data-dir /var/lib/openbatch\n  aws batch describe-job-queues --endpoint-url http://127.0.0.1:8770')
  .action(async (flags: Record<string, string | undefined>) => {
    const config = loadConfig({
      host: flags.host,
      port: flags.port,
      dataDir: flags.dataDir,
      config: flags.config,
      account: flags.account,
      logLevel: flags.logLevel,
    });
    const server = await startServer(config);
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      server.services.logger.info({ signal }, 'shutting down');
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
  .requiredOption('--server <url>', 'the server URL, e.g. http://10.0.0.5:8770')
  .option('--ce <name>', 'join this UNMANAGED compute environment (with the server\'s join token)')
  .option('--vcpus <n>', 'vCPUs to offer when joining (default: this machine\'s cores)')
  .option('--memory <MiB>', 'memory to offer when joining (default: this machine\'s memory)')
  .option('--gpus <n>', 'GPUs to offer when joining (default 0)')
  .option('--instance-id <id>', 'serve an instance the server launched (local provider)')
  .option('--token <token>', 'join token with --ce, instance token with --instance-id (prefer env OPENBATCH_AGENT_TOKEN)')
  .option('--work-dir <dir>', 'where attempts get their working directories', '.openbatch-agent')
  .option('--exit-with-parent', 'stop all jobs and exit when standard input closes')
  .option('--log-level <level>', 'log level', 'info')
  .addHelpText(
    'after',
    '\nExample (on another machine; the join token is in the server\'s <data-dir>/agent-join-token):\n  OPENBATCH_AGENT_TOKEN=$(cat join-token) openbatch agent --server http://10.0.0.5:8770 --ce my-machines --vcpus 8 --memory 16000',
  )
  .action(async (flags: Parameters<typeof runAgent>[0]) => {
    await runAgent({ ...flags });
  });

program.parseAsync(process.argv).catch((err: Error) => {
  process.stderr.write(`openbatch: ${err.message}\n`);
  process.exit(1);
});
