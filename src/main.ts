import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { type Role, startApp } from './app.js';
import { ConfigError, type Config, describeConfig, parseConfig } from './config/config.js';
import { EmbeddedPostgresError } from './embedded/pg-error.js';
import { SandboxUnavailableError } from './media/sandbox.js';
import { createLogger } from './log.js';

// npm scripts run on the Node that the pinned `node-linux-*` optional
// dependency brings; without it (another platform, --omit=optional) they
// silently run on the machine's Node.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(
    `audio-service needs Node.js 24 or newer, this is ${process.versions.node}. ` +
      'Run it through npm (npm start) after a plain `npm install` (Linux x64/arm64: it brings Node 24), or install Node 24.',
  );
  process.exit(1);
}

const ROLES: readonly Role[] = ['api', 'worker', 'all'];

function parseCli(argv: string[]): { role: Role; printConfig: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: { role: { type: 'string', default: 'all' }, 'print-config': { type: 'boolean', default: false } },
    strict: true,
  });
  const role = values.role as Role;
  if (!ROLES.includes(role)) throw new ConfigError([`--role=${values.role}: expected one of ${ROLES.join(', ')}`]);
  return { role, printConfig: values['print-config'] ?? false };
}

async function main(): Promise<void> {
  let config: Config;
  let cli: ReturnType<typeof parseCli>;
  try {
    cli = parseCli(process.argv.slice(2));
    config = parseConfig(process.env, process.cwd(), { role: cli.role });
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    process.exit(2);
  }
  if (cli.printConfig) {
    console.log(JSON.stringify(describeConfig(config), null, 2));
    return;
  }
  const log = createLogger({ level: config.logLevel, pretty: config.nodeEnv === 'development' && Boolean(process.stdout.isTTY) });
  const app = await startApp(config, cli.role, log);
  if (cli.role !== 'worker') log.info({ url: `${app.url}/graphql` }, 'GraphQL API ready');
  if (config.authDevelopmentSecret) {
    const token = await app.auth.sign('dev-user');
    console.log(
      `\n  GraphQL:   ${app.url}/graphql\n  Health:    ${app.url}/healthz\n` +
        `  Dev token (AUTH_JWT_SECRET unset, development secret in use on embedded PostgreSQL and S3):\n  Authorization: Bearer ${token}\n`,
    );
  }

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    app.stop().then(
      () => process.exit(0),
      (e) => {
        log.error({ err: e }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((e) => {
  // A failure with a message written for people gets that one line, not a stack trace.
  console.error(e instanceof EmbeddedPostgresError || e instanceof SandboxUnavailableError ? e.message : e);
  process.exit(1);
});
