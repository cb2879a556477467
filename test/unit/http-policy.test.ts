import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { hostAllowed } from '../../src/executors/http-policy.ts';

const allowed = (url: string, ...patterns: string[]) => hostAllowed(new URL(url), patterns);

describe('hostAllowed', () => {
  it('allows nothing with no patterns', () => {
    assert.equal(allowed('https://api.example.com/'), false);
  });

  it('allows any host with *', () => {
    assert.equal(allowed('https://anything.test:8443/x', '*'), true);
    assert.equal(allowed('http://[::1]/', '*'), true);
  });

  it('matches an exact host on any port, ignoring case', () => {
    assert.equal(allowed('https://API.Example.com/v1', 'api.example.com'), true);
    assert.equal(allowed('http://api.example.com:8080/', 'API.EXAMPLE.COM'), true);
    assert.equal(allowed('https://example.com/', 'api.example.com'), false);
    assert.equal(allowed('https://api.example.com.evil.test/', 'api.example.com'), false);
    assert.equal(allowed('https://evilapi.example.com/', 'api.example.com'), false);
  });

  it('matches subdomains with *.domain, but not the domain itself', () => {
    assert.equal(allowed('https://api.example.com/', '*.example.com'), true);
    assert.equal(allowed('https://a.b.example.com/', '*.example.com'), true);
    assert.equal(allowed('https://example.com/', '*.example.com'), false);
    assert.equal(allowed('https://badexample.com/', '*.example.com'), false);
    assert.equal(allowed('https://example.com.evil.test/', '*.example.com'), false);
  });

  it('matches a port only where the pattern names one, counting default ports', () => {
    assert.equal(allowed('http://host:8080/', 'host:8080'), true);
    assert.equal(allowed('http://host:8081/', 'host:8080'), false);
    assert.equal(allowed('http://host/', 'host:8080'), false);
    assert.equal(allowed('https://host/', 'host:443'), true);
    assert.equal(allowed('http://host/', 'host:80'), true);
    assert.equal(allowed('https://host/', 'host:80'), false);
    assert.equal(allowed('http://a.example.com:9000/', '*.example.com:9000'), true);
    assert.equal(allowed('http://anything:9000/', '*:9000'), true);
    assert.equal(allowed('http://anything:9001/', '*:9000'), false);
  });

  it('matches IPv6 and IPv4 literals in their normal form', () => {
    assert.equal(allowed('http://[::1]:3000/', '[::1]'), true);
    assert.equal(allowed('http://[0:0:0:0:0:0:0:1]/', '[::1]'), true);
    assert.equal(allowed('http://[::1]:3000/', '[::1]:3000'), true);
    assert.equal(allowed('http://[::1]:3001/', '[::1]:3000'), false);
    assert.equal(allowed('http://[::2]/', '[::1]'), false);
    assert.equal(allowed('http://127.0.0.1:5432/', '127.0.0.1'), true);
    assert.equal(allowed('http://localhost/', '127.0.0.1'), false);
  });

  it('treats a trailing dot as the same host', () => {
    assert.equal(allowed('https://api.example.com./', 'api.example.com'), true);
    assert.equal(allowed('https://a.example.com./', '*.example.com'), true);
  });

  it('allows when any one pattern matches', () => {
    assert.equal(allowed('https://b.test/', 'a.test', 'b.test'), true);
  });
});
