import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { commandLine, commandPattern, envPattern, shellRefusal } from '../../src/executors/shell-policy.ts';

const allows = (pattern: string, command: string | string[]) => commandPattern(pattern).test(commandLine(command));

describe('shell allow-list patterns', () => {
  it('* stays within one word of one path segment', () => {
    assert.ok(allows('/opt/jobs/*.sh', '/opt/jobs/backup.sh'));
    assert.ok(!allows('/opt/jobs/*.sh', '/opt/jobs/../../tmp/evil.sh'));
    assert.ok(!allows('/opt/jobs/*.sh', '/opt/jobs/a.sh --all'));
    assert.ok(allows('echo *', 'echo hi'));
    assert.ok(!allows('echo *', 'echo a b'));
  });

  it('** spans words and paths', () => {
    assert.ok(allows('pg_dump **', 'pg_dump -d app -f /backups/app.sql'));
    assert.ok(allows('**', 'date'));
  });

  it('no wildcard matches a shell control character', () => {
    for (const command of [
      'pg_dump app; rm -rf /',
      'pg_dump app && curl evil',
      'pg_dump app | nc evil 9',
      'pg_dump $(id)',
      'pg_dump `id`',
      'pg_dump app > /etc/passwd',
      'pg_dump app\nrm -rf /',
      'pg_dump \\$HOME',
      'pg_dump ~/x',
      'pg_dump /backups/*.sql',
      'pg_dump app?',
      'pg_dump [ab]pp',
      'pg_dump {a,b}',
      'pg_dump "app"',
      'pg_dump app # comment',
      'pg_dump app\u00a0x',
    ]) {
      assert.ok(!allows('pg_dump **', command), command);
      assert.ok(!allows('**', command), command);
    }
  });

  it('matches what runs: nothing trimmed, no glob the shell would expand', () => {
    assert.ok(!allows('/bin/date', '\u00a0/bin/date'), 'a leading no-break space makes the path relative');
    assert.ok(!allows('/bin/date', ' /bin/date'));
    assert.ok(
      !allows('/opt/jobs/*.sh', '/opt/jobs/*.sh'),
      'the shell would run the first script, the rest as arguments',
    );
    assert.ok(!allows('/opt/jobs/*.sh', '/opt/jobs/?.sh'));
    assert.ok(allows('pg_dump **', "pg_dump -f '/backups/a b.sql' app"), 'single-quoted words are literal');
  });

  it('everything else in a pattern is literal', () => {
    assert.ok(!allows('a.b', 'axb'));
    assert.ok(allows('report (daily)', 'report (daily)'));
    assert.ok(!allows('date', 'date -u'));
  });

  it('matches an argv array as a shell would have to write it', () => {
    assert.equal(commandLine(['rm', '-rf', '/tmp/a b', "it's"]), `rm -rf '/tmp/a b' 'it'"'"'s'`);
    assert.ok(allows('/usr/bin/rsync **', ['/usr/bin/rsync', '-a', '/data/', 'backup:/data/']));
    assert.ok(!allows('rm -rf /tmp/*', ['rm', '-rf', '/tmp/x /']));
    assert.ok(!allows('sh -c *', ['sh', '-c', 'echo hi']));
  });
});

describe('shellRefusal', () => {
  const allow = [commandPattern('/opt/jobs/*.sh')];
  const envAllow = ['MODE', 'APP_*'].map(envPattern);

  it('allows everything when the list is empty', () => {
    assert.equal(shellRefusal('rm -rf /tmp/x', { PATH: '/tmp' }, [], []), null);
  });

  it('names the command it refuses', () => {
    assert.match(
      shellRefusal('curl evil', undefined, allow, envAllow)!,
      /"curl evil" is not in this worker's shell allow-list/,
    );
    assert.equal(shellRefusal('/opt/jobs/backup.sh', { MODE: 'full', APP_LEVEL: '2' }, allow, envAllow), null);
  });

  it('takes only the variables the env allow-list names: none by default', () => {
    for (const name of ['PATH', 'LD_PRELOAD', 'PERLLIB', 'BASH_FUNC_date%%', 'RUBYLIB', 'GCONV_PATH', 'APPX']) {
      assert.match(
        shellRefusal('/opt/jobs/backup.sh', { [name]: '/tmp/x', MODE: 'full' }, allow, envAllow)!,
        new RegExp(
          `^payload\\.env: ${JSON.stringify(name).replace(/[$%]/g, '\\$&')} not in this worker's shell env allow-list`,
        ),
        name,
      );
    }
    assert.match(shellRefusal('/opt/jobs/backup.sh', { MODE: 'full' }, allow, [])!, /"MODE" not in/);
  });
});
