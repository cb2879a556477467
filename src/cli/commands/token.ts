import type { Command } from 'commander';

import { createToken, listTokens, revokeToken } from '../../http/tokens.ts';
import { withPool, wrapHandler } from '../runtime.ts';
import { formatTable } from '../table.ts';

/** `baton token create|ls|revoke`: the HTTP API's tokens, kept in the database (hashed). */
export function registerToken(program: Command): void {
  const token = program.command('token').description("the HTTP API's tokens: create, list, revoke");
  token
    .command('create')
    .description('create a token and print it (shown this once; only its hash is kept)')
    .argument('<name>', 'what the token is for, e.g. ci or grafana')
    .option('--role <role>', 'admin (may change anything) or reader (may read)', 'reader')
    .option('--json', 'print {name, role, token} as JSON')
    .addHelpText('after', '\nExample:\n  baton token create deploy-bot --role admin')
    .action(
      wrapHandler(async (name: string, options: { role: string; json?: boolean }, cmd: Command) => {
        const created = await withPool(cmd, (db) => createToken(db, name, options.role));
        process.stdout.write(
          options.json ? `${JSON.stringify({ name, role: options.role, token: created })}\n` : `${created}\n`,
        );
      }),
    );
  token
    .command('ls')
    .description('list the tokens: name, role, who created them and when, last use')
    .option('--json', 'print the tokens as JSON')
    .action(
      wrapHandler(async (options: { json?: boolean }, cmd: Command) => {
        const tokens = await withPool(cmd, listTokens);
        if (options.json) process.stdout.write(`${JSON.stringify(tokens)}\n`);
        else {
          const rows = tokens.map((t) => [t.name, t.role, t.created_by, iso(t.created_at), iso(t.last_used_at)]);
          process.stdout.write(
            [...formatTable([['NAME', 'ROLE', 'BY', 'CREATED', 'LAST USED'], ...rows]), ''].join('\n'),
          );
        }
      }),
    );
  token
    .command('revoke')
    .description('revoke a token: every server refuses it from its next request')
    .argument('<name>', 'the name it was created with')
    .action(
      wrapHandler(async (name: string, _options: unknown, cmd: Command) => {
        await withPool(cmd, (db) => revokeToken(db, name));
        process.stdout.write(`token ${name} revoked\n`);
      }),
    );
}

const iso = (value: Date | null) => (value ? value.toISOString().slice(0, 19).replace('T', ' ') : '-');
