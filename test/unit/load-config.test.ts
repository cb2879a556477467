import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { loadConfig } from '../../src/config/load-config.ts';

const dir = mkdtempSync(join(tmpdir(), 'baton-config-'));
const file = (name: string, content: string) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};

describe('loadConfig: settings from files', () => {
  it('reads <SETTING>_FILE for any setting, a family member included, without the trailing newline', () => {
    const config = loadConfig(
      {},
      {
        DATABASE_URL_FILE: file('db', 'postgres://app:pw@db/app\n'),
        BATON_SECRET_TOKEN_FILE: file('token', 's3cret\r\n'),
        BATON_SQL_DATABASE_REPORTING_FILE: file('reporting', 'postgres://reports@db/reporting'),
        BATON_SHELL_USER_FILE: file('user', 'nobody\n'),
      },
    );
    assert.equal(config.databaseUrl, 'postgres://app:pw@db/app');
    assert.deepEqual(config.worker.secrets, { TOKEN: 's3cret' });
    assert.deepEqual(config.worker.sqlDatabases, { reporting: 'postgres://reports@db/reporting' });
    assert.equal(config.worker.shellUser, 'nobody');
  });

  it('refuses a setting given both ways, and a file it cannot read, naming the variable', () => {
    assert.throws(
      () => loadConfig({}, { DATABASE_URL: 'postgres://a@b/c', DATABASE_URL_FILE: file('x', 'postgres://d@e/f') }),
      { message: 'invalid configuration: set DATABASE_URL or DATABASE_URL_FILE, not both', field: 'DATABASE_URL_FILE' },
    );
    assert.throws(() => loadConfig({}, { BATON_SECRET_X_FILE: join(dir, 'missing') }), {
      message: /^invalid configuration: BATON_SECRET_X_FILE: ENOENT/,
    });
  });

  it('leaves other *_FILE variables and names like constructor alone', () => {
    const config = loadConfig({}, { SSL_CERT_FILE: '/nowhere', constructor: 'x', toString: 'y' });
    assert.equal(config.databaseUrl, undefined);
  });
});
