// `npm run compose:secrets`: everything docker-compose.yml needs before its first start.
// - ./secrets/ (0700), one file per secret that docker-compose.yml mounts (its top-level `secrets:`),
//   each a fresh random value of the right shape. An existing file is never overwritten, so running it
//   again only adds what is missing (e.g. after an upgrade added a secret).
// - ./.env from .env.example when there is none (settings only: no secret goes there).
// Prints what it made and which service gets each file.
//
// File modes: the directory is 0700, so no other user of this machine can open the files. The
// files themselves are 0644 because compose bind-mounts them into the containers with this
// machine's owner and mode (it cannot change either for file secrets), and the services run as the
// image's `node` user (uid 1000), which a 0600 file owned by any other uid (root on most servers,
// rootless Docker) would lock out. Each container sees only the secrets docker-compose.yml gives it.
//
// --root DIR puts secrets/ and .env under DIR instead of the repository (the tests use it).
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const REPO_ROOT = path.resolve(__dirname, '..');
const SERVICE_UID = 1000;

/** The services that read NATS as their own user: one password each (docs/nats-permissions.md). */
const NATS_SERVICES = ['gateway', 'merchant', 'address', 'payment', 'withdrawal', 'compliance', 'tracker', 'signer', 'collector'];
const DB_SERVICES = ['merchant', 'address', 'payment', 'withdrawal', 'compliance', 'tracker', 'signer', 'collector'];

interface SecretSpec {
  /** File name under secrets/ and the compose secret name. */
  name: string;
  /** Who gets it (as docker-compose.yml mounts it). */
  services: string[];
  /** The variable it fills (through <VARIABLE>_FILE). */
  variable: string;
  make(ctx: Context): string;
}

interface Context {
  root: string;
  env: Record<string, string>;
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

/** The password inside an existing database_url, so a new postgres_password agrees with it. */
function passwordOfUrl(url: string): string | undefined {
  try {
    return decodeURIComponent(new URL(url).password) || undefined;
  } catch {
    return undefined;
  }
}

function readSecret(ctx: Context, name: string): string | undefined {
  try {
    return readFileSync(path.join(ctx.root, 'secrets', name), 'utf8').replace(/\r?\n$/, '');
  } catch {
    return undefined;
  }
}

const SECRETS: SecretSpec[] = [
  {
    name: 'postgres_password',
    services: ['postgres'],
    variable: 'POSTGRES_PASSWORD',
    // From database_url when only that one exists: both must agree.
    make: (ctx) => passwordOfUrl(readSecret(ctx, 'database_url') ?? '') ?? hex(24),
  },
  {
    name: 'database_url',
    services: DB_SERVICES,
    variable: 'DATABASE_URL',
    make: (ctx) => {
      const user = encodeURIComponent(ctx.env.POSTGRES_USER || 'cpg');
      const db = encodeURIComponent(ctx.env.POSTGRES_DB || 'cpg');
      const password = readSecret(ctx, 'postgres_password');
      if (!password) throw new Error('secrets/postgres_password is missing');
      return `postgres://${user}:${encodeURIComponent(password)}@postgres:5432/${db}`;
    },
  },
  {
    name: 'gateway_secret',
    services: ['gateway', 'merchant', 'address', 'payment', 'withdrawal', 'compliance'],
    variable: 'GATEWAY_SECRET',
    make: () => hex(32),
  },
  { name: 'operator_token', services: ['gateway'], variable: 'OPERATOR_TOKEN', make: () => hex(32) },
  { name: 'key_encryption_key', services: ['signer'], variable: 'KEY_ENCRYPTION_KEY', make: () => hex(32) },
  { name: 'checkout_token_secret', services: ['payment'], variable: 'CHECKOUT_TOKEN_SECRET', make: () => hex(32) },
  { name: 'webhook_encryption_key', services: ['merchant'], variable: 'WEBHOOK_ENCRYPTION_KEY', make: () => hex(32) },
  ...NATS_SERVICES.map((service): SecretSpec => ({
    name: `nats_password_${service}`,
    services: [service, 'nats-config'],
    variable: 'NATS_PASSWORD',
    make: () => hex(24),
  })),
];

/** Variables that must not be in .env any more: compose gives them per service from secrets/. */
const SECRET_VARIABLES = [
  'GATEWAY_SECRET',
  'OPERATOR_TOKEN',
  'KEY_ENCRYPTION_KEY',
  'CHECKOUT_TOKEN_SECRET',
  'WEBHOOK_ENCRYPTION_KEY',
  'DATABASE_URL',
  'NATS_PASSWORD',
  'POSTGRES_PASSWORD',
];

/** KEY=VALUE lines of an env file (comments and blank lines skipped, surrounding quotes removed). */
function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!m || line.trimStart().startsWith('#')) continue;
    out[m[1]!] = m[2]!.replace(/^(['"])(.*)\1$/, '$2');
  }
  return out;
}

function parseArgs(argv: string[]): { root: string } {
  let root = REPO_ROOT;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--root' && argv[i + 1]) root = path.resolve(argv[++i]!);
    else if (arg.startsWith('--root=')) root = path.resolve(arg.slice('--root='.length));
    else throw new Error(`unknown argument ${JSON.stringify(arg)} (only --root DIR)`);
  }
  return { root };
}

function main(): void {
  const { root } = parseArgs(process.argv.slice(2));
  const lines: string[] = [];
  const warnings: string[] = [];

  const envFile = path.join(root, '.env');
  if (!existsSync(envFile)) {
    copyFileSync(path.join(REPO_ROOT, '.env.example'), envFile);
    lines.push('created .env from .env.example (settings only; review them, no secret goes there)');
  } else {
    lines.push('kept    .env');
  }
  const env = parseEnvFile(readFileSync(envFile, 'utf8'));
  const stale = SECRET_VARIABLES.filter((v) => env[v]);
  if (stale.length) {
    const db = stale.includes('DATABASE_URL') || stale.includes('POSTGRES_PASSWORD');
    warnings.push(
      `.env sets ${stale.join(', ')}: remove ${stale.length > 1 ? 'them' : 'it'}. docker-compose.yml gives each service its secrets from secrets/ ` +
        '(X_FILE), and a service given both X and X_FILE refuses to start.' +
        (db
          ? ' A database that already exists keeps its password: write it to secrets/postgres_password and delete secrets/database_url, then run this again.'
          : ''),
    );
  }

  const dir = path.join(root, 'secrets');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const ctx: Context = { root, env };
  const width = Math.max(...SECRETS.map((s) => s.name.length));
  for (const spec of SECRETS) {
    const file = path.join(dir, spec.name);
    const label = `secrets/${spec.name.padEnd(width)}  ${spec.variable}_FILE -> ${spec.services.join(', ')}`;
    if (existsSync(file)) {
      const st = statSync(file);
      if (typeof process.getuid === 'function' && st.uid !== SERVICE_UID && !(st.mode & 0o004)) {
        warnings.push(`secrets/${spec.name}: the services run as uid ${SERVICE_UID} and cannot read it (chmod 644 ${file}; the directory stays 0700)`);
      }
      lines.push(`kept    ${label}`);
      continue;
    }
    // `wx`: never replaces a file, even one created since the check above.
    writeFileSync(file, `${spec.make(ctx)}\n`, { flag: 'wx', mode: 0o644 });
    chmodSync(file, 0o644);
    lines.push(`created ${label}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  if (warnings.length) process.stderr.write(`\nwarning:\n${warnings.map((w) => `  - ${w}`).join('\n')}\n`);
  process.stdout.write('\nBack up secrets/key_encryption_key apart from the database: without it the stored keys cannot be opened.\n');
}

try {
  main();
} catch (err) {
  process.stderr.write(`compose-secrets: ${(err as Error).message}\n`);
  process.exit(1);
}
